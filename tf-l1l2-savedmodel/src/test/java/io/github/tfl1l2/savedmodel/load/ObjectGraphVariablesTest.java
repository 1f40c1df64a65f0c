package io.github.tfl1l2.savedmodel.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;

/**
 * {@link ObjectGraphVariables} on the Keras 3 {@code model.export()} archive, whose object graph
 * tracks each weight twice ({@code variables/N}, nodes 8–28, and {@code _all_variables/N}, nodes
 * 29–46), with the {@code serve} endpoint's function rebound to the other node of a variable.
 */
class ObjectGraphVariablesTest {
  /** The {@code serve} signature's function; {@code serving_default} calls another one. */
  private static final String SERVE_FUNCTION = "__inference_signature_wrapper___call___366";

  private static MetaGraphDef export() throws IOException {
    Path dir = TestModels.external("keras3_export_multihead_mlp");
    return SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb"))).getMetaGraphs(0);
  }

  /**
   * The archive with the serve function's first bound input (dense/kernel, node 8) → {@code to}.
   */
  private static MetaGraphDef rebindFirstInput(MetaGraphDef metaGraph, int to) {
    SavedObjectGraph.Builder objectGraph = metaGraph.getObjectGraphDef().toBuilder();
    SavedConcreteFunction function = objectGraph.getConcreteFunctionsOrThrow(SERVE_FUNCTION);
    assertEquals(8, function.getBoundInputs(0), "the archive as described");
    objectGraph.putConcreteFunctions(
        SERVE_FUNCTION, function.toBuilder().setBoundInputs(0, to).build());
    return metaGraph.toBuilder().setObjectGraphDef(objectGraph).build();
  }

  @Test
  void aHandleBoundToBothNodesOfOneVariableMapsToTheLowestNode() throws IOException {
    // Node 29 is _all_variables/0: dense/kernel again.
    MetaGraphDef metaGraph = rebindFirstInput(export(), 29);
    ObjectGraphVariables variables = ObjectGraphVariables.of(metaGraph);
    assertEquals(List.of(8), variables.nodeIds("m", List.of("dense/kernel_1")));
    assertEquals(8, variables.callBindings().get("dense/kernel_1"));
  }

  @Test
  void aHandleBoundToNodesOfDifferentVariablesIsRefused() throws IOException {
    // Node 30 is _all_variables/1: batch_normalization/beta.
    MetaGraphDef metaGraph = rebindFirstInput(export(), 30);
    ObjectGraphVariables variables = ObjectGraphVariables.of(metaGraph);
    SavedModelException e =
        assertThrows(
            SavedModelException.class, () -> variables.nodeIds("m", List.of("dense/kernel_1")));
    assertTrue(e.getMessage().contains("describe different variables"), e.getMessage());
    assertTrue(!variables.callBindings().containsKey("dense/kernel_1"));
  }
}
