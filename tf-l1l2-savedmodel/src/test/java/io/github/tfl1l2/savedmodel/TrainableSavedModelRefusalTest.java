package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.OpDef.ArgDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** What {@link TrainableSavedModel} refuses, each with one message naming the thing. */
class TrainableSavedModelRefusalTest {
  @TempDir Path temp;

  private static void assertSays(Exception e, String... fragments) {
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should say " + fragment);
    }
  }

  @Test
  void aDirectoryThatDoesNotLoadGivesTheSavedModelExceptionLine() {
    Path missing = temp.resolve("nope");
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(missing));
    assertSays(e, missing.toString(), "no such directory");
  }

  @Test
  void anUnknownSignatureKeyIsRefusedListingTheSignatures() {
    Path dir = KerasCnn.directory(); // skips the test without ../shared
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> TrainableSavedModel.open(dir, "predict"));
    assertSays(e, "\"predict\"", "[serving_default]");
  }

  @Test
  void theInitOpIsNotASignature() {
    Path dir = KerasCnn.directory(); // skips the test without ../shared
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TrainableSavedModel.open(dir, "__saved_model_init_op"));
    assertSays(e, "[serving_default]");
  }

  @Test
  void unknownInputAndOutputKeysAreRefusedListingTheKeys() {
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      assertSays(
          assertThrows(IllegalArgumentException.class, () -> model.input("image")),
          "\"image\"",
          "[conv2d_input]");
      assertSays(
          assertThrows(
              IllegalArgumentException.class, () -> model.output("logits", TFloat32.class)),
          "\"logits\"",
          "[dense_1]");
    }
  }

  @Test
  void anOutputAskedWithAnotherDtypeIsRefused() {
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      assertSays(
          assertThrows(
              IllegalArgumentException.class, () -> model.output(KerasCnn.OUTPUT, TInt32.class)),
          "dense_1",
          "DT_FLOAT",
          "TInt32");
    }
  }

  @Test
  void functionalControlFlowInTheBodyIsRefusedNamingTheNode() throws IOException {
    // The dropout's Identity becomes StatelessIf(true, x) with x → x in both branches.
    Path dir =
        editedKerasCnn(
            (metaGraph, body) -> {
              FunctionDef.Builder edited = body.toBuilder();
              for (int i = 0; i < edited.getNodeDefCount(); i++) {
                NodeDef node = edited.getNodeDef(i);
                if (node.getName().equals("sequential/dropout/Identity")) {
                  edited.setNodeDef(
                      i,
                      NodeDef.newBuilder()
                          .setName(node.getName())
                          .setOp("StatelessIf")
                          .addInput("always:output:0")
                          .addInput(node.getInput(0))
                          .putAttr(
                              "Tcond", AttrValue.newBuilder().setType(DataType.DT_BOOL).build())
                          .putAttr("Tin", types(DataType.DT_FLOAT))
                          .putAttr("Tout", types(DataType.DT_FLOAT))
                          .putAttr("then_branch", function("identity_branch"))
                          .putAttr("else_branch", function("identity_branch")));
                }
              }
              edited.addNodeDef(
                  NodeDef.newBuilder()
                      .setName("always")
                      .setOp("Const")
                      .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_BOOL).build())
                      .putAttr(
                          "value",
                          AttrValue.newBuilder()
                              .setTensor(
                                  TensorProto.newBuilder()
                                      .setDtype(DataType.DT_BOOL)
                                      .addBoolVal(true))
                              .build()));
              return edited.build();
            },
            FunctionDef.newBuilder()
                .setSignature(
                    OpDef.newBuilder()
                        .setName("identity_branch")
                        .addInputArg(ArgDef.newBuilder().setName("x").setType(DataType.DT_FLOAT))
                        .addOutputArg(ArgDef.newBuilder().setName("y").setType(DataType.DT_FLOAT)))
                .addNodeDef(
                    NodeDef.newBuilder()
                        .setName("id")
                        .setOp("Identity")
                        .addInput("x")
                        .putAttr("T", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build()))
                .putRet("y", "id:output:0")
                .build());
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(dir));
    assertSays(
        e,
        dir.toString(),
        "serving_default",
        "sequential/dropout/Identity",
        "StatelessIf",
        "control flow");
  }

  @Test
  void anOpWithoutGradientBetweenAVariableAndTheOutputIsRefusedNamingTheNode() throws IOException {
    // Softmax becomes Round, which has no C++ gradient, on the path from dense_1's variables.
    Path dir =
        editedKerasCnn(
            (metaGraph, body) -> {
              FunctionDef.Builder edited = body.toBuilder();
              for (int i = 0; i < edited.getNodeDefCount(); i++) {
                NodeDef node = edited.getNodeDef(i);
                if (node.getName().equals("sequential/dense_1/Softmax")) {
                  edited.setNodeDef(i, node.toBuilder().setOp("Round"));
                }
                List<String> inputs = node.getInputList();
                for (int j = 0; j < inputs.size(); j++) {
                  if (inputs.get(j).equals("sequential/dense_1/Softmax:softmax:0")) {
                    edited.setNodeDef(
                        i,
                        edited.getNodeDef(i).toBuilder()
                            .setInput(j, "sequential/dense_1/Softmax:y:0"));
                  }
                }
              }
              return edited.build();
            },
            null);
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(dir));
    assertSays(e, dir.toString(), "sequential/dense_1/Softmax", "(Round)", "no C++ gradient");
  }

  @Test
  void anOpWithoutGradientThatNoOutputDependsOnIsAccepted() throws IOException {
    // A Round of the dense layer's activations that nothing consumes: no gradient passes it.
    Path dir =
        editedKerasCnn(
            (metaGraph, body) ->
                body.toBuilder()
                    .addNodeDef(
                        NodeDef.newBuilder()
                            .setName("unused_round")
                            .setOp("Round")
                            .addInput("sequential/dense/Relu:activations:0")
                            .putAttr(
                                "T", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build()))
                    .build(),
            null);
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      assertEquals(KerasCnn.TRAINABLE.size(), model.trainableVariables().size());
    }
  }

  private interface BodyEdit {
    FunctionDef apply(MetaGraphDef metaGraph, FunctionDef body);
  }

  /**
   * A copy of the Keras CNN whose inner serving function ({@code __inference__wrapped_model_*}) is
   * edited, with {@code extra} added to the library when not null.
   */
  private Path editedKerasCnn(BodyEdit edit, FunctionDef extra) throws IOException {
    Path source = KerasCnn.directory();
    Path copy = temp.resolve("edited");
    try (Stream<Path> paths = Files.walk(source)) {
      for (Path path : paths.toList()) {
        Path target = copy.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.write(target, Files.readAllBytes(path));
        }
      }
    }
    SavedModel savedModel =
        SavedModel.parseFrom(Files.readAllBytes(copy.resolve("saved_model.pb")));
    MetaGraphDef metaGraph = savedModel.getMetaGraphs(0);
    GraphDef.Builder graph = metaGraph.getGraphDef().toBuilder();
    int edited = 0;
    for (int i = 0; i < graph.getLibrary().getFunctionCount(); i++) {
      FunctionDef function = graph.getLibrary().getFunction(i);
      if (function.getSignature().getName().startsWith("__inference__wrapped_model_")) {
        graph.getLibraryBuilder().setFunction(i, edit.apply(metaGraph, function));
        edited++;
      }
    }
    assertEquals(1, edited, "the Keras CNN has one wrapped model function");
    if (extra != null) {
      graph.getLibraryBuilder().addFunction(extra);
    }
    Files.write(
        copy.resolve("saved_model.pb"),
        savedModel.toBuilder()
            .setMetaGraphs(0, metaGraph.toBuilder().setGraphDef(graph))
            .build()
            .toByteArray());
    return copy;
  }

  private static AttrValue types(DataType... types) {
    AttrValue.ListValue.Builder list = AttrValue.ListValue.newBuilder();
    for (DataType type : types) {
      list.addType(type);
    }
    return AttrValue.newBuilder().setList(list).build();
  }

  private static AttrValue function(String name) {
    return AttrValue.newBuilder().setFunc(NameAttrList.newBuilder().setName(name)).build();
  }
}
