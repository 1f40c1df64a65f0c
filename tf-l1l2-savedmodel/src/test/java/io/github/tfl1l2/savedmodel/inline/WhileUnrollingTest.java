package io.github.tfl1l2.savedmodel.inline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.inline.KerasLoops.Cell;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat64;

/**
 * {@link WhileUnrolling} and {@link TensorListElements} on loops of the form Keras traces ({@link
 * KerasLoops}), in float64: the unrolled copy gives the output of TensorFlow's own run of the loop
 * (the graph's {@code call} node, which the code under test does not touch), and its gradients
 * equal central finite differences of that same run.
 */
class WhileUnrollingTest {
  private static final int BATCH = 3;
  private static final int TIMESTEPS = 5;
  private static final int FEATURES = 4;
  private static final int UNITS = 3;

  /** A built model, inlined, with its feeds. */
  private record Inlined(
      Graph graph, GraphDef graphDef, Output<?> output, Map<String, Tensor> feeds, int layers)
      implements AutoCloseable {
    @Override
    public void close() {
      feeds.values().forEach(Tensor::close);
      graph.close();
    }
  }

  private static Inlined inline(GraphDef graphDef, int layers, long seed) {
    Graph graph = new Graph();
    try {
      graph.importGraphDef(graphDef);
      FunctionInliner inliner =
          new FunctionInliner(
              graph, MetaGraphDef.newBuilder().setGraphDef(graphDef).build(), "built model");
      NodeDef call = node(graphDef, "call");
      List<Output<?>> arguments = new ArrayList<>();
      for (String input : call.getInputList()) {
        arguments.add(graph.outputOrThrow(input));
      }
      Output<?> output = inliner.inlineCall(call, arguments, "inlined/").get(0);
      return new Inlined(graph, graphDef, output, feeds(graphDef, seed), layers);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  private static NodeDef node(GraphDef graphDef, String name) {
    return graphDef.getNodeList().stream()
        .filter(n -> n.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }

  /** Gaussian values (scale 0.5) for every float placeholder; a mask with ~30% of steps off. */
  private static Map<String, Tensor> feeds(GraphDef graphDef, long seed) {
    Random random = new Random(seed);
    Map<String, Tensor> feeds = new LinkedHashMap<>();
    for (NodeDef node : graphDef.getNodeList()) {
      if (!node.getOp().equals("Placeholder")) {
        continue;
      }
      var proto = node.getAttrOrThrow("shape").getShape();
      long[] dims = new long[proto.getDimCount()];
      int size = 1;
      for (int i = 0; i < dims.length; i++) {
        dims[i] =
            proto.getDim(i).getSize() < 0
                ? (i == 0 ? BATCH : TIMESTEPS)
                : proto.getDim(i).getSize();
        size *= (int) dims[i];
      }
      if (node.getName().equals("mask")) {
        boolean[] mask = new boolean[size];
        for (int i = 0; i < size; i++) {
          mask[i] = random.nextDouble() < 0.7;
        }
        feeds.put(
            node.getName(), TBool.tensorOf(Shape.of(dims), DataBuffers.of(mask, true, false)));
      } else {
        double[] values = new double[size];
        for (int i = 0; i < size; i++) {
          values[i] = 0.5 * random.nextGaussian();
        }
        feeds.put(
            node.getName(), TFloat64.tensorOf(Shape.of(dims), DataBuffers.of(values, true, false)));
      }
    }
    return feeds;
  }

  private static double[] run(Session session, Map<String, Tensor> feeds, Operand<?> fetch) {
    Session.Runner runner = session.runner();
    feeds.forEach(runner::feed);
    try (Result result = runner.fetch(fetch).run()) {
      TFloat64 t = (TFloat64) result.get(0);
      double[] values = new double[(int) t.shape().size()];
      t.copyTo(DataBuffers.of(values, false, false));
      return values;
    }
  }

  /**
   * Checks that the unrolled output equals TensorFlow's run of the loop, and that the gradient of
   * {@code Σ w·output} with respect to every weight placeholder equals a central finite difference
   * of TensorFlow's run, at three elements each.
   */
  private static void assertUnrolledLoopMatchesTensorFlow(Inlined model) {
    assertUnrolledLoopMatchesTensorFlow(model, "call");
  }

  /** As above, with TensorFlow's run of the graph's node {@code reference} as the reference. */
  private static void assertUnrolledLoopMatchesTensorFlow(Inlined model, String reference) {
    Graph graph = model.graph();
    Ops tf = Ops.create(graph);
    Operand<TFloat64> unrolled = model.output().expect(TFloat64.class);
    Operand<TFloat64> served = graph.outputOrThrow(reference + ":0").expect(TFloat64.class);
    int width = UNITS * model.layers();
    double[][] w = new double[BATCH][width];
    Random random = new Random(11);
    for (double[] row : w) {
      for (int i = 0; i < width; i++) {
        row[i] = random.nextGaussian();
      }
    }
    Operand<TFloat64> weights = tf.constant(w);
    Operand<TFloat64> loss = tf.sum(tf.math.mul(unrolled, weights), tf.constant(new int[] {0, 1}));
    Operand<TFloat64> referenceLoss =
        tf.sum(tf.math.mul(served, weights), tf.constant(new int[] {0, 1}));
    List<String> parameters = new ArrayList<>();
    for (int l = 0; l < model.layers(); l++) {
      parameters.addAll(List.of("kernel_" + l, "recurrent_kernel_" + l, "bias_" + l));
    }
    // The inlined reads of the variables, each read once by the model.
    Output<?>[] xs =
        parameters.stream()
            .map(p -> graph.outputOrThrow("inlined/call/" + p + "/ReadVariableOp"))
            .toArray(Output<?>[]::new);
    Output<?>[] gradients = graph.addGradients(loss.asOutput(), xs);
    assertNoLoopOrListOpRuns(graph, model.output());
    try (Session session = new Session(graph)) {
      for (String parameter : parameters) {
        assign(session, parameter, model.feeds().get(parameter + "/value"));
      }
      double[] got = run(session, model.feeds(), unrolled);
      double[] want = run(session, model.feeds(), served);
      assertEquals(want.length, got.length);
      for (int i = 0; i < want.length; i++) {
        assertEquals(want[i], got[i], 1e-12, "output " + i);
      }
      for (int p = 0; p < parameters.size(); p++) {
        double[] gradient = run(session, model.feeds(), gradients[p].expect(TFloat64.class));
        TFloat64 base = (TFloat64) model.feeds().get(parameters.get(p) + "/value");
        double[] values = new double[(int) base.shape().size()];
        base.copyTo(DataBuffers.of(values, false, false));
        for (int e : new int[] {0, values.length / 2, values.length - 1}) {
          double h = 1e-5;
          double[] losses = new double[2];
          for (int side = 0; side < 2; side++) {
            double[] moved = values.clone();
            moved[e] += side == 0 ? h : -h;
            try (TFloat64 t = TFloat64.tensorOf(base.shape(), DataBuffers.of(moved, true, false))) {
              assign(session, parameters.get(p), t);
              losses[side] = run(session, model.feeds(), referenceLoss)[0];
            }
          }
          assign(session, parameters.get(p), base);
          double slope = (losses[0] - losses[1]) / (2 * h);
          assertEquals(
              slope,
              gradient[e],
              1e-7 * Math.max(1, Math.abs(slope)),
              parameters.get(p) + "[" + e + "]");
        }
      }
    }
  }

  private static void assign(Session session, String variable, Tensor value) {
    session.runner().feed(variable + "/value", value).addTarget(variable + "/assign").run();
  }

  /** The ops that compute the unrolled output: no loop and no list read among them. */
  private static void assertNoLoopOrListOpRuns(Graph graph, Output<?> output) {
    List<GraphOperation> pending = new ArrayList<>(List.of((GraphOperation) output.op()));
    java.util.Set<String> seen = new java.util.HashSet<>();
    while (!pending.isEmpty()) {
      GraphOperation op = pending.remove(pending.size() - 1);
      if (!seen.add(op.name())) {
        continue;
      }
      assertFalse(op.type().contains("While") || op.type().startsWith("TensorList"), op.name());
      for (int i = 0; i < op.numInputs(); i++) {
        pending.add((GraphOperation) op.input(i).op());
      }
    }
  }

  private static GraphDef model(
      Cell cell, boolean masked, boolean bidirectional, boolean sequences, long timesteps) {
    KerasLoops loops = new KerasLoops(DataType.DT_DOUBLE);
    List<String> layers = new ArrayList<>();
    layers.add(loops.layer(cell, UNITS, masked, false, masked, sequences, TIMESTEPS));
    if (bidirectional) {
      layers.add(loops.layer(cell, UNITS, masked, true, masked, sequences, TIMESTEPS));
    }
    String model = loops.model(cell, UNITS, layers, masked);
    return loops.graph(model, cell, layers.size(), FEATURES, UNITS, timesteps, masked);
  }

  @Test
  void anLstmLoopIsUnrolledWithTensorFlowsOutputAndGradients() {
    try (Inlined model = inline(model(Cell.LSTM, false, false, false, TIMESTEPS), 1, 1)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void aGruLoopIsUnrolledWithTensorFlowsOutputAndGradients() {
    try (Inlined model = inline(model(Cell.GRU, false, false, false, TIMESTEPS), 1, 2)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void aGruKeepingEveryStepsOutputIsUnrolledWithTensorFlowsOutputAndGradients() {
    // return_sequences: the output list is written at index `time` and stacked.
    try (Inlined model = inline(model(Cell.GRU, false, false, true, TIMESTEPS), 1, 3)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void aBidirectionalLstmPairIsUnrolledWithTensorFlowsOutputAndGradients() {
    // The backward layer reverses the time axis (ReverseV2) before its loop.
    try (Inlined model = inline(model(Cell.LSTM, false, true, false, TIMESTEPS), 2, 4)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void aMaskedLstmIsUnrolledWithTensorFlowsOutputAndGradients() {
    // A mask list read per step, SelectV2 keeping the previous state where the mask is off, and the
    // loop_counter < maximum_iterations condition.
    try (Inlined model = inline(model(Cell.LSTM, true, false, false, TIMESTEPS), 1, 5)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void aMaskedBidirectionalGruIsUnrolledWithTensorFlowsOutputAndGradients() {
    try (Inlined model = inline(model(Cell.GRU, true, true, false, TIMESTEPS), 2, 6)) {
      assertUnrolledLoopMatchesTensorFlow(model);
    }
  }

  @Test
  void eachIterationOfTheBodyIsOneCopyNamedByItsIteration() {
    try (Inlined model = inline(model(Cell.LSTM, false, false, false, TIMESTEPS), 1, 1)) {
      String loop = "inlined/call/layer_0/PartitionedCall/while";
      for (int k = 0; k < TIMESTEPS; k++) {
        assertTrue(
            model.graph().operation(loop + "/iteration_" + k + "/while/MatMul") != null,
            "iteration " + k);
      }
      assertEquals(
          null, model.graph().operation(loop + "/iteration_" + TIMESTEPS + "/while/MatMul"));
    }
  }

  @Test
  void aTimeAxisKnownOnlyAtRunTimeIsRefusedNamingTheLoop() {
    GraphDef graphDef = model(Cell.LSTM, false, false, false, -1);
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> inline(graphDef, 1, 1).close());
    String message = e.getMessage();
    assertFalse(message.contains("\n"), message);
    for (String fragment :
        List.of(
            "built model",
            "node inlined/call/layer_0/PartitionedCall/while",
            "(StatelessWhile)",
            "trip count is not known when the graph is built",
            "loop variable 6 (initially strided_slice:output:0)",
            "known only when the graph runs")) {
      assertTrue(message.contains(fragment), message + " should say " + fragment);
    }
  }

  @Test
  void aCallOfTheGpuMemberOfAnImplementationPairInlinesTheGenericMember() {
    // The GPU member here computes something else (init_h + 1) so that which one was inlined shows
    // in the output. The reference is TensorFlow's run of a second call node, of the generic
    // member.
    KerasLoops loops = new KerasLoops(DataType.DT_DOUBLE);
    String generic = loops.layer(Cell.LSTM, UNITS, false, false, false, false, TIMESTEPS);
    String gpu = loops.gpuTwin(Cell.LSTM, generic, "lstm_0123");
    String callsGpu = loops.model(Cell.LSTM, UNITS, List.of(gpu), false);
    String callsGeneric = loops.model(Cell.LSTM, UNITS, List.of(generic), false);
    GraphDef graphDef = loops.graph(callsGpu, Cell.LSTM, 1, FEATURES, UNITS, TIMESTEPS, false);
    NodeDef call = node(graphDef, "call");
    graphDef =
        graphDef.toBuilder()
            .addNode(
                call.toBuilder()
                    .setName("call_generic")
                    .putAttr("f", KerasLoops.func(callsGeneric)))
            .build();
    try (Inlined inlined = inline(graphDef, 1, 7)) {
      assertUnrolledLoopMatchesTensorFlow(inlined, "call_generic");
      try (Session session = new Session(inlined.graph())) {
        // TensorFlow itself runs the member the call names, on this CPU-only build.
        for (String parameter : List.of("kernel_0", "recurrent_kernel_0", "bias_0")) {
          assign(session, parameter, inlined.feeds().get(parameter + "/value"));
        }
        double[] gpuOutput = run(session, inlined.feeds(), inlined.graph().outputOrThrow("call:0"));
        assertEquals(1.0, gpuOutput[0], 0.0);
      }
    }
  }
}
