package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.DevicePlacementTest.Trace;
import io.github.tfl1l2.optimizers.ProximalAdaGrad;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import io.github.tfl1l2.testing.References;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;

/**
 * A proximal step on a session with two virtual CPU devices: the selected {@code kernel} is pinned
 * to CPU:1 and the data loss reaches only {@code bias} (CPU:0), so the kernel's gradient is the
 * zero gradient the optimizer builds for it. Placement is read back from the run metadata's
 * partition graphs and step stats, as in {@link DevicePlacementTest}.
 */
class ProximalPlacementTest {
  private static final ConfigProto TWO_CPUS =
      ConfigProto.newBuilder().putDeviceCount("CPU", 2).build();
  private static final RunOptions TRACE =
      RunOptions.newBuilder()
          .setTraceLevel(RunOptions.TraceLevel.FULL_TRACE)
          .setOutputPartitionGraphs(true)
          .build();
  private static final int ROWS = 128;
  private static final int COLUMNS = 128;
  private static final float LEARNING_RATE = 0.05f;
  private static final double L1 = 0.5;
  private static final double L2 = 0.25;

  /** The two proximal optimizers and the step size each applies where the gradient is zero. */
  enum Kind {
    GRADIENT_DESCENT((g, reg) -> new ProximalGradientDescent(g, LEARNING_RATE, reg), 1.0),
    // η = lr / √a with the accumulator a staying at its initial value when g = 0.
    ADA_GRAD(
        (g, reg) -> new ProximalAdaGrad(g, LEARNING_RATE, reg),
        1.0 / Math.sqrt(ProximalAdaGrad.INITIAL_ACCUMULATOR_DEFAULT));

    final BiFunction<Graph, L1L2, Optimizer> create;
    final double stepScale;

    Kind(BiFunction<Graph, L1L2, Optimizer> create, double stepScale) {
      this.create = create;
      this.stepScale = stepScale;
    }
  }

  /** What two steps left: the traced second step and the kernel afterwards. */
  record Stepped(Trace trace, float[] initial, float[] kernel) {}

  private static Stepped twoSteps(Kind kind) {
    float[] initial = new float[ROWS * COLUMNS];
    for (int i = 0; i < initial.length; i++) {
      initial[i] = ((i * 37) % 101 - 50) / 25f; // in [-2, 2], some within the threshold
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> kernel;
      try (TFloat32 t = Fixtures.tensor(initial, ROWS, COLUMNS)) {
        kernel =
            tf.withDevice(DevicePlacementTest.cpu(1))
                .withName("kernel")
                .variable(tf.withInitScope().constantOf(t));
      }
      Variable<TFloat32> bias =
          tf.withName("bias").variable(tf.withInitScope().constant(new float[] {1f, -1f}));
      Operand<TFloat32> dataLoss =
          tf.reduceSum(
              tf.math.square(tf.math.sub(tf.identity(bias), tf.constant(new float[] {3f, 2f}))),
              tf.constant(0));
      L1L2 reg = L1L2.builder().l1(L1).l2(L2).on("kernel").build();
      Op step = kind.create.apply(g, reg).minimize(dataLoss);
      try (Session s = new Session(g, TWO_CPUS)) {
        s.runner().addTarget(step).run(); // initializes the variables, then the first step
        Trace trace;
        try (Result r = s.runner().addTarget(step).setOptions(TRACE).runAndFetchMetadata()) {
          trace = new Trace(0, r.getMetadata().orElseThrow());
        }
        return new Stepped(trace, initial, Fixtures.fetchFloats(s, kernel));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void unreachedKernelsZeroGradientIsBuiltOnItsDeviceSoOnlyScalarsCross(Kind kind) {
    Trace trace = twoSteps(kind).trace();
    Map<String, TensorShapeProto> sent = trace.crossDeviceShapes();
    sent.forEach(
        (producer, shape) ->
            assertTrue(
                shape.getDimCount() == 0 && !shape.getUnknownRank(),
                producer + " sends a tensor of shape " + shape + "; all sent: " + sent));
    // Fixture check: the kernel's step ran, on CPU:1. (Grappler folds the zero Fill into a Const.)
    List<String> onKernelsDevice =
        trace.nodesByDevice().get(1).stream().map(NodeDef::getOp).toList();
    assertTrue(
        onKernelsDevice.stream().anyMatch(op -> op.startsWith("ApplyProximal")),
        "the proximal step runs on CPU:1: " + onKernelsDevice);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void unreachedKernelStillTakesTheProximalStep(Kind kind) {
    Stepped stepped = twoSteps(kind);
    double eta = LEARNING_RATE * kind.stepScale;
    // TensorFlow's l2 is 2·weight·l2 (its term is (l2/2)·w²); weight is 1 here.
    for (int i = 0; i < stepped.initial().length; i++) {
      double w = stepped.initial()[i];
      for (int k = 0; k < 2; k++) {
        w = References.proximalStep(w, eta, L1, L2);
      }
      assertEquals(w, stepped.kernel()[i], 1e-6 * Math.max(1, Math.abs(w)), "kernel[" + i + "]");
      if (w == 0) {
        assertEquals(0f, Math.abs(stepped.kernel()[i]), "kernel[" + i + "] is an exact zero");
      }
    }
  }
}
