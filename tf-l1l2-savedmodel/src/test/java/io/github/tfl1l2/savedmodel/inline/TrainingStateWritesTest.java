package io.github.tfl1l2.savedmodel.inline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.OpDef.ArgDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.types.TInt64;

/**
 * {@link TrainingStateWrites} on hand-written function bodies: a random generator's state advance
 * is built and advances once per run; writes of other variables, or of the wrong kind, are refused
 * naming the node, its op and the variable.
 */
class TrainingStateWritesTest {
  private static final String STATE = "dropout/_random_generator/_generator/_state_var";

  /** {@code f(state: resource) -> int64[3]}: one body node {@code op} on the state, then a read. */
  private static MetaGraphDef library(NodeDef write, String ret) {
    FunctionDef function =
        FunctionDef.newBuilder()
            .setSignature(
                OpDef.newBuilder()
                    .setName("f")
                    .addInputArg(ArgDef.newBuilder().setName("state").setType(DataType.DT_RESOURCE))
                    .addOutputArg(ArgDef.newBuilder().setName("out").setType(DataType.DT_INT64)))
            .addNodeDef(constant("alg", DataType.DT_INT32, TensorProto.newBuilder().addIntVal(1)))
            .addNodeDef(
                constant("delta", DataType.DT_UINT64, TensorProto.newBuilder().addUint64Val(4)))
            .addNodeDef(
                constant(
                    "zeros",
                    DataType.DT_INT64,
                    TensorProto.newBuilder().addInt64Val(0).addInt64Val(0).addInt64Val(0)))
            .addNodeDef(write)
            .putRet("out", ret)
            .build();
    return MetaGraphDef.newBuilder()
        .setGraphDef(
            GraphDef.newBuilder().setLibrary(FunctionDefLibrary.newBuilder().addFunction(function)))
        .build();
  }

  private static NodeDef constant(String name, DataType dtype, TensorProto.Builder value) {
    value.setDtype(dtype);
    if (value.getInt64ValCount() > 1) {
      value.setTensorShape(
          org.tensorflow.proto.TensorShapeProto.newBuilder()
              .addDim(
                  org.tensorflow.proto.TensorShapeProto.Dim.newBuilder()
                      .setSize(value.getInt64ValCount())));
    }
    return NodeDef.newBuilder()
        .setName(name)
        .setOp("Const")
        .putAttr("dtype", AttrValue.newBuilder().setType(dtype).build())
        .putAttr("value", AttrValue.newBuilder().setTensor(value).build())
        .build();
  }

  private static final NodeDef SKIP =
      NodeDef.newBuilder()
          .setName("skip")
          .setOp("RngReadAndSkip")
          .addInput("state")
          .addInput("alg:output:0")
          .addInput("delta:output:0")
          .build();

  private static final NodeDef ASSIGN =
      NodeDef.newBuilder()
          .setName("reset")
          .setOp("AssignVariableOp")
          .addInput("state")
          .addInput("zeros:output:0")
          .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_INT64).build())
          .build();

  /** Inlines {@code f} on a fresh int64[3] variable {@code STATE} allowed as {@code kind}. */
  private static List<Output<?>> inline(Graph graph, MetaGraphDef meta, Map<String, String> kinds) {
    Ops tf = Ops.create(graph);
    Output<?> handle =
        graph
            .opBuilder("VarHandleOp", STATE, graph.baseScope())
            .setAttr("dtype", DataType.DT_INT64)
            .setAttr("shape", Shape.of(3))
            .setAttr("shared_name", STATE)
            .build()
            .output(0);
    tf.withName("init").assignVariableOp(handle, tf.constant(new long[] {0, 0, 0}));
    TrainingStateWrites writes = new TrainingStateWrites(graph, kinds);
    FunctionInliner inliner = new FunctionInliner(graph, meta, "test", List.of(writes));
    return inliner.inlineFunction("f", List.of(handle), "training/");
  }

  @Test
  void aGeneratorStateAdvanceIsBuiltAndAdvancesEveryRun() {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Output<?> out =
          inline(
                  graph,
                  library(SKIP, "skip:value:0"),
                  Map.of(STATE, TrainingStateWrites.GENERATOR_STATE))
              .get(0);
      session.runner().addTarget("init").run().close();
      long first;
      long second;
      try (Result a = session.runner().fetch(out).run()) {
        first = ((TInt64) a.get(0)).getLong(0);
      }
      try (Result b = session.runner().fetch(out).run()) {
        second = ((TInt64) b.get(0)).getLong(0);
      }
      // RngReadAndSkip returns the state before the skip: each run reads the one the last left.
      assertNotEquals(first, second);
      assertEquals(4 * 256, second - first, "the Philox counter advances by delta·256 per run");
    }
  }

  @Test
  void aWriteOfAVariableThatIsNoTrainingStateIsRefusedNamingIt() {
    try (Graph graph = new Graph()) {
      SavedModelException e =
          assertThrows(
              SavedModelException.class,
              () -> inline(graph, library(SKIP, "skip:value:0"), Map.of()));
      assertTrue(
          e.getMessage().contains("node training/skip (RngReadAndSkip) writes variable " + STATE),
          e.getMessage());
    }
  }

  @Test
  void anAssignmentOfAGeneratorStateIsRefused() {
    try (Graph graph = new Graph()) {
      SavedModelException e =
          assertThrows(
              SavedModelException.class,
              () ->
                  inline(
                      graph,
                      library(ASSIGN, "zeros:output:0"),
                      Map.of(STATE, TrainingStateWrites.GENERATOR_STATE)));
      assertTrue(
          e.getMessage()
              .contains(
                  "(AssignVariableOp) writes variable " + STATE + " (a random generator state)"),
          e.getMessage());
    }
  }
}
