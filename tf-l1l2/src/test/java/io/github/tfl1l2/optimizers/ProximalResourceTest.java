package io.github.tfl1l2.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * The proximal optimizers on resource variables ({@code VarHandleOp}): the same step as on ref
 * variables, exact zeros, {@code minimize(loss, variables)} and the errors for a step that would
 * train nothing.
 */
class ProximalResourceTest {
  private static final int N = 16;
  private static final int P = 6;
  private static final float LR = 0.05f;
  private static final L1L2 REG = L1L2.builder().l1(0.8).l2(0.3).on("kernel").build();

  /** The two proximal optimizers, built and stepped through one interface. */
  enum Kind {
    GRADIENT_DESCENT,
    ADA_GRAD;

    Optimizer create(Graph g, float lr, L1L2 reg) {
      return this == GRADIENT_DESCENT
          ? new ProximalGradientDescent(g, lr, reg)
          : new ProximalAdaGrad(g, lr, reg);
    }

    Op minimize(Optimizer optimizer, Operand<?> loss, List<? extends Operand<?>> variables) {
      return optimizer instanceof ProximalGradientDescent gd
          ? gd.minimize(loss, variables)
          : ((ProximalAdaGrad) optimizer).minimize(loss, variables);
    }
  }

  /** Deterministic floats in [-scale, scale). */
  private static float[] values(long seed, int size, double scale) {
    Random random = new Random(seed);
    float[] values = new float[size];
    for (int i = 0; i < size; i++) {
      values[i] = (float) ((2 * random.nextDouble() - 1) * scale);
    }
    return values;
  }

  private static final float[] X = values(1, N * P, 1.0);
  private static final float[] Y = values(2, N, 2.0);
  private static final float[] KERNEL = values(3, P, 0.5);
  private static final float[] BIAS = {0.25f};

  /**
   * A linear model {@code mean((X·kernel + bias − y)²) + 0.1·Σ kernel}: the kernel is read twice
   * (so a resource kernel's gradient is a sum over two reads), on ref or resource variables.
   */
  private static final class Model implements AutoCloseable {
    final Graph graph = new Graph();
    final Ops tf = Ops.create(graph);
    final boolean resource;
    final Operand<?> kernel;
    final Operand<?> bias;
    final Operand<TFloat32> loss;

    Model(boolean resource) {
      this.resource = resource;
      kernel = variable("kernel", KERNEL, P, 1);
      bias = variable("bias", BIAS, 1);
      Operand<TFloat32> prediction =
          tf.math.add(tf.linalg.matMul(tf.constant(tensor(X, N, P)), read(kernel)), read(bias));
      Operand<TFloat32> error = tf.math.sub(prediction, tf.constant(tensor(Y, N, 1)));
      loss =
          tf.math.add(
              tf.math.mean(tf.math.square(error), tf.constant(new int[] {0, 1})),
              tf.math.mul(
                  tf.constant(0.1f), tf.reduceSum(read(kernel), tf.constant(new int[] {0, 1}))));
    }

    Operand<?> variable(String name, float[] initial, long... shape) {
      if (!resource) {
        return tf.withName(name).variable(tf.withInitScope().constant(tensor(initial, shape)));
      }
      Operand<?> handle =
          tf.withName(name)
              .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name));
      tf.withInitScope()
          .assignVariableOp(handle, tf.withInitScope().constant(tensor(initial, shape)));
      return handle;
    }

    /** A fresh read: {@code Identity} of a ref variable, {@code ReadVariableOp} of a handle. */
    @SuppressWarnings("unchecked")
    Operand<TFloat32> read(Operand<?> variable) {
      return resource
          ? tf.readVariableOp(variable, TFloat32.class)
          : tf.identity((Operand<TFloat32>) variable);
    }

    /** The values of {@code variables} after {@code times} runs of {@code step}. */
    float[][] run(Op step, int times, Operand<?>... variables) {
      List<Operand<TFloat32>> reads = new ArrayList<>();
      for (Operand<?> variable : variables) {
        reads.add(read(variable));
      }
      try (Session s = new Session(graph)) {
        s.initialize();
        for (int i = 0; i < times; i++) {
          s.runner().addTarget(step).run();
        }
        float[][] values = new float[variables.length][];
        for (int i = 0; i < variables.length; i++) {
          values[i] = fetch(s, reads.get(i));
        }
        return values;
      }
    }

    @Override
    public void close() {
      graph.close();
    }
  }

  private static TFloat32 tensor(float[] values, long... shape) {
    return TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(values, true, false));
  }

  private static float[] fetch(Session s, Operand<?> operand) {
    try (Result r = s.runner().fetch(operand).run()) {
      TFloat32 t = (TFloat32) r.get(0);
      float[] values = new float[(int) t.size()];
      t.copyTo(DataBuffers.of(values, false, false));
      return values;
    }
  }

  /** Whether {@code a} and {@code b} differ by at most {@code ulps} units in the last place. */
  private static void assertWithinUlps(float[] expected, float[] actual, int ulps, String what) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      double tolerance =
          ulps * (double) Math.ulp(Math.max(Math.abs(expected[i]), Float.MIN_NORMAL));
      assertEquals(expected[i], actual[i], tolerance, what + "[" + i + "]");
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aResourceStepEqualsTheSameStepOnRefVariables(Kind kind) {
    float[][] refAfter;
    float[][] resourceAfter;
    try (Model m = new Model(false)) {
      refAfter = m.run(kind.create(m.graph, LR, REG).minimize(m.loss), 5, m.kernel, m.bias);
    }
    try (Model m = new Model(true)) {
      resourceAfter = m.run(kind.create(m.graph, LR, REG).minimize(m.loss), 5, m.kernel, m.bias);
    }
    assertTrue(!Arrays.equals(KERNEL, refAfter[0]), "fixture check: the kernel trained");
    assertWithinUlps(refAfter[0], resourceAfter[0], 4, "kernel (selected, proximal step)");
    assertWithinUlps(refAfter[1], resourceAfter[1], 4, "bias (unselected, plain step)");
  }

  /** The data gradient of the model's loss with respect to the kernel, in double. */
  private static double[] kernelGradient(float[] kernel, float bias) {
    double[] g = new double[P];
    for (int r = 0; r < N; r++) {
      double error = bias - Y[r];
      for (int j = 0; j < P; j++) {
        error += (double) X[r * P + j] * kernel[j];
      }
      for (int j = 0; j < P; j++) {
        g[j] += 2.0 / N * error * X[r * P + j];
      }
    }
    for (int j = 0; j < P; j++) {
      g[j] += 0.1;
    }
    return g;
  }

  @Test
  void aResourceKernelTakesTheClosedFormProxStepAndLandsOnExactZeros() {
    double l1 = 4.0;
    double l2 = 0.3;
    L1L2 reg = L1L2.builder().l1(l1).l2(l2).on("kernel").build();
    float[] after;
    try (Model m = new Model(true)) {
      after = m.run(new ProximalGradientDescent(m.graph, LR, reg).minimize(m.loss), 1, m.kernel)[0];
    }
    double[] g = kernelGradient(KERNEL, BIAS[0]);
    int zeros = 0;
    for (int j = 0; j < P; j++) {
      double v = KERNEL[j] - (double) LR * g[j];
      double expected = Math.signum(v) * Math.max(Math.abs(v) - LR * l1, 0.0) / (1 + LR * 2 * l2);
      if (expected == 0) {
        zeros++;
        assertEquals(0f, Math.abs(after[j]), "kernel[" + j + "] is an exact zero");
      } else {
        assertEquals(expected, after[j], 1e-6, "kernel[" + j + "]");
      }
    }
    assertTrue(zeros > 0 && zeros < P, "fixture check: some but not all zeros, " + zeros);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void minimizeWithVariablesTrainsExactlyTheGivenOnes(Kind kind) {
    float[] expectedKernel;
    try (Model m = new Model(true)) {
      // Training every variable: the kernel's own step does not depend on the bias's.
      expectedKernel = m.run(kind.create(m.graph, LR, REG).minimize(m.loss), 1, m.kernel)[0];
    }
    try (Model m = new Model(true)) {
      Optimizer optimizer = kind.create(m.graph, LR, REG);
      Op step = kind.minimize(optimizer, m.loss, List.of(m.read(m.kernel)));
      float[][] after = m.run(step, 1, m.kernel, m.bias);
      assertArrayEquals(expectedKernel, after[0], "the given kernel trained");
      assertArrayEquals(BIAS, after[1], "the bias, reached but not given, is untouched");
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void minimizeWithVariablesTakesRefAndResourceVariablesInOneList(Kind kind) {
    float[] expectedKernel;
    try (Model m = new Model(true)) {
      expectedKernel = m.run(kind.create(m.graph, LR, REG).minimize(m.loss), 1, m.kernel)[0];
    }
    try (Model m = new Model(true)) {
      // A ref variable joins the loss: loss' = loss + Σ (scale − 1)², so scale steps towards 1.
      Operand<TFloat32> scale =
          m.tf.withName("scale").variable(m.tf.withInitScope().constant(new float[] {3f}));
      Operand<TFloat32> loss =
          m.tf.math.add(
              m.loss,
              m.tf.reduceSum(
                  m.tf.math.square(m.tf.math.sub(m.tf.identity(scale), m.tf.constant(1f))),
                  m.tf.constant(0)));
      Op step = kind.minimize(kind.create(m.graph, LR, REG), loss, List.of(m.kernel, scale));
      float[][] after;
      try (Session s = new Session(m.graph)) {
        s.initialize();
        s.runner().addTarget(step).run();
        after =
            new float[][] {fetch(s, m.read(m.kernel)), fetch(s, scale), fetch(s, m.read(m.bias))};
      }
      assertArrayEquals(expectedKernel, after[0], "resource kernel");
      // GD: 3 − lr·2·(3 − 1); AdaGrad: 3 − lr·4/√(0.1 + 16).
      double expectedScale =
          kind == Kind.GRADIENT_DESCENT
              ? 3 - LR * 4.0
              : 3 - LR * 4.0 / Math.sqrt(ProximalAdaGrad.INITIAL_ACCUMULATOR_DEFAULT + 16);
      assertEquals(expectedScale, after[1][0], 1e-6, "ref scale");
      assertArrayEquals(BIAS, after[2], "bias, not given");
    }
  }

  @Test
  void aReadFetchedBesideTheStepSeesTheValueBeforeTheUpdate() {
    try (Model m = new Model(true)) {
      Operand<TFloat32> metric = m.read(m.kernel); // no part of the loss
      // A weak l1, so that no element settles at zero within the 20 steps.
      Op step = new ProximalGradientDescent(m.graph, LR, L1L2.l1(1e-3)).minimize(m.loss);
      // The order is guaranteed by a control edge, not left to the scheduler (which, here, runs
      // an input-free read first anyway).
      GraphOperation update = updateOf(m.graph, "kernel");
      assertTrue(
          update.controlInputs().contains((GraphOperation) metric.op()),
          update + " waits for the metric's read: " + update.controlInputs());
      try (Session s = new Session(m.graph)) {
        s.initialize();
        for (int i = 0; i < 20; i++) {
          float[] before = fetch(s, m.read(m.kernel));
          float[] seen;
          try (Result r = s.runner().addTarget(step).fetch(metric).run()) {
            seen = new float[P];
            ((TFloat32) r.get(0)).copyTo(DataBuffers.of(seen, false, false));
          }
          assertArrayEquals(before, seen, "step " + i);
          assertTrue(!Arrays.equals(before, fetch(s, m.read(m.kernel))), "the step trained");
        }
      }
    }
  }

  /** The {@code ResourceApply*} op that updates the variable {@code name}. */
  private static GraphOperation updateOf(Graph graph, String name) {
    for (var it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().startsWith("ResourceApply") && op.input(0).op().name().equals(name)) {
        return op;
      }
    }
    throw new AssertionError("no update of " + name);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aResourceUpdateWaitsOnlyForItsOwnGradientAndItsVariablesReads(Kind kind) {
    try (Model m = new Model(true)) {
      kind.create(m.graph, LR, REG).minimize(m.loss);
      int updates = 0;
      for (var it = m.graph.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        if (!op.type().startsWith("ResourceApply")) {
          continue;
        }
        updates++;
        GraphOperation handle = (GraphOperation) op.input(0).op();
        for (GraphOperation control : op.controlInputs()) {
          assertEquals("ReadVariableOp", control.type(), op.name() + " waits for " + control);
          assertEquals(handle, control.input(0).op(), op.name() + " waits for " + control);
        }
      }
      assertEquals(2, updates, "kernel and bias updates");
    }
  }

  @Test
  void adaGradKeepsAResourceVariablesAccumulatorInAResourceVariableOfItsOwn() {
    float[] refAccumulator;
    try (Model m = new Model(false)) {
      ProximalAdaGrad optimizer = new ProximalAdaGrad(m.graph, LR, REG);
      Op step = optimizer.minimize(m.loss);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> accumulator =
          optimizer
              .getSlot(((Operand<TFloat32>) m.kernel).asOutput(), ProximalAdaGrad.ACCUMULATOR)
              .orElseThrow();
      refAccumulator = m.run(step, 2, accumulator)[0];
    }
    try (Model m = new Model(true)) {
      // A handle of the user's already claims the accumulator's name as its shared_name.
      m.tf
          .withName("claimer")
          .varHandleOp(TFloat32.class, Shape.of(1), VarHandleOp.sharedName("kernel-accumulator"));
      Op step = new ProximalAdaGrad(m.graph, LR, REG).minimize(m.loss);
      GraphOperation slot = m.graph.operation("kernel-accumulator");
      assertEquals("VarHandleOp", slot.type());
      assertEquals("kernel-accumulator_1", slot.attributes().getAttrString("shared_name"));
      assertEquals(Shape.of(P, 1), slot.attributes().getAttrShape("shape"));
      float[] accumulator = m.run(step, 2, slot.output(0))[0];
      assertWithinUlps(refAccumulator, accumulator, 4, "accumulator after two steps");
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aLossThatReachesNoVariableIsRejected(Kind kind) {
    try (Model m = new Model(true)) {
      Operand<TFloat32> constantLoss = m.tf.withName("constant_loss").constant(1f);
      Optimizer optimizer = kind.create(m.graph, LR, REG);
      IllegalArgumentException all =
          assertThrows(IllegalArgumentException.class, () -> optimizer.minimize(constantLoss));
      assertTrue(
          all.getMessage()
              .contains(
                  "would not train on the data: the data loss (op"
                      + " \"constant_loss\") reaches none of the graph's variables (2)"),
          all.getMessage());
      IllegalArgumentException given =
          assertThrows(
              IllegalArgumentException.class,
              () -> kind.minimize(optimizer, constantLoss, List.of(m.kernel)));
      assertTrue(
          given.getMessage().contains("reaches none of the given variables (1)"),
          given.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void aLossThatReachesItsVariablesOnlyThroughStopGradientIsRejected(Kind kind) {
    try (Model m = new Model(true)) {
      Operand<TFloat32> frozen = m.tf.stopGradient(m.loss);
      Optimizer optimizer = kind.create(m.graph, LR, REG);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> optimizer.minimize(frozen));
      assertTrue(e.getMessage().contains("reaches none of the graph's variables"), e.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void anEmptyVariableListIsRejected(Kind kind) {
    try (Model m = new Model(true)) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> kind.minimize(kind.create(m.graph, LR, REG), m.loss, List.of()));
      assertTrue(
          e.getMessage().startsWith("variables is empty, so the step would train nothing"),
          e.getMessage());
    }
  }

  @Test
  void aVariableGivenTwiceIsRejectedNamingBothIndices() {
    try (Model m = new Model(true)) {
      Operand<TFloat32> read =
          m.tf.withName("kernel_read").readVariableOp(m.kernel, TFloat32.class);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new ProximalGradientDescent(m.graph, LR, REG)
                      .minimize(m.loss, List.of(m.kernel, m.bias, read)));
      assertTrue(
          e.getMessage()
              .startsWith(
                  "variables[2] (op \"kernel_read\") is the variable"
                      + " \"kernel\" again, already given as variables[0]"),
          e.getMessage());
    }
  }

  @Test
  void aNullVariableIsRejectedNamingItsIndex() {
    try (Model m = new Model(true)) {
      List<Operand<?>> variables = new ArrayList<>();
      variables.add(m.kernel);
      variables.add(null);
      NullPointerException e =
          assertThrows(
              NullPointerException.class,
              () -> new ProximalGradientDescent(m.graph, LR, REG).minimize(m.loss, variables));
      assertEquals("variables[1] must not be null", e.getMessage());
    }
  }

  @Test
  void aNonVariableIsRejectedNamingItsIndexAndOp() {
    try (Model m = new Model(true)) {
      Operand<TFloat32> doubled =
          m.tf.withName("doubled").math.mul(m.read(m.kernel), m.tf.constant(2f));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new ProximalGradientDescent(m.graph, LR, REG)
                      .minimize(m.loss, List.of(m.bias, doubled)));
      assertTrue(
          e.getMessage().startsWith("variables[1] (op \"doubled\", a Mul) is not a" + " variable"),
          e.getMessage());
    }
  }

  @Test
  void aVariableOfAnotherGraphIsRejectedNamingItsIndexAndOp() {
    try (Model m = new Model(true);
        Model other = new Model(true)) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new ProximalGradientDescent(m.graph, LR, REG)
                      .minimize(m.loss, List.of(other.kernel)));
      assertTrue(
          e.getMessage().startsWith("variables[0] (op \"kernel\") belongs to another"),
          e.getMessage());
    }
  }

  @Test
  void adaGradRefusesToTrainItsOwnAccumulator() {
    try (Model m = new Model(true)) {
      ProximalAdaGrad optimizer = new ProximalAdaGrad(m.graph, LR, REG);
      optimizer.minimize(m.loss);
      Operand<?> accumulator = m.graph.operation("kernel-accumulator").output(0);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> optimizer.minimize(m.loss, List.of(accumulator)));
      assertTrue(
          e.getMessage().contains("is this optimizer's own slot \"kernel-accumulator\""),
          e.getMessage());
    }
  }

  /**
   * Two large variables, {@code kernel} (selected) and {@code other}, with {@code loss = Σ c·w +
   * ½·Σ w²} each (so {@code g = c + w}), stepped once by {@link ProximalGradientDescent}; returns
   * both, and whether the graph holds an XLA-marked assignment.
   */
  private static float[][] stepLarge(boolean resource, boolean[] fused) {
    int size = (int) FusedProximalStep.MIN_ELEMENTS;
    try (Model m = new Model(resource)) {
      Ops tf = m.tf;
      Operand<?> kernel = m.variable("large_kernel", values(7, size, 0.5), size);
      Operand<?> other = m.variable("other", values(8, size, 0.5), size);
      Operand<TFloat32> loss = tf.constant(0f);
      long seed = 9;
      for (Operand<?> w : List.of(kernel, other)) {
        Operand<TFloat32> read = m.read(w);
        loss =
            tf.math.add(
                loss,
                tf.reduceSum(
                    tf.math.add(
                        tf.math.mul(tf.constant(tensor(values(seed++, size, 1.0), size)), read),
                        tf.math.mul(tf.constant(0.5f), tf.math.square(read))),
                    tf.constant(0)));
      }
      L1L2 reg = L1L2.builder().l1(2.0).l2(0.3).on("large_kernel").build();
      Op step;
      if (resource) {
        List<Output<?>> variables = List.of(kernel.asOutput(), other.asOutput());
        List<GradAndVar<? extends TType>> pairs = new ArrayList<>();
        for (GradAndVar<?> pair : DataGradients.of(tf.scope(), loss, variables, v -> true)) {
          pairs.add(pair);
        }
        step =
            tf.withControlDependencies(
                    FusedProximalStep.build(tf, pairs, 0.1f, new ProximalTerms(reg), "test"))
                .noOp();
      } else {
        step =
            new ProximalGradientDescent(m.graph, 0.1f, reg).minimize(loss, List.of(kernel, other));
      }
      for (var it = m.graph.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        if (op.type().equals("AssignVariableOp")) {
          try {
            fused[0] |= op.attributes().getAttrBool("_XlaCompile");
          } catch (RuntimeException unmarked) {
            // an initializer's assignment
          }
        }
      }
      return m.run(step, 1, kernel, other);
    }
  }

  /**
   * The XLA-fused alternative that was measured against the resource kernel computes the kernel's
   * values: an ulp of difference at most in {@code w − α·g} (XLA contracts it into a fused
   * multiply-add; this TensorFlow build's kernels do not use FMA).
   */
  @Test
  void theFusedAlternativeEqualsTheKernelsWithinFourUlpsOfItsOperands() {
    boolean[] refFused = {false};
    boolean[] resourceFused = {false};
    float[][] ref = stepLarge(false, refFused);
    float[][] resource = stepLarge(true, resourceFused);
    assertTrue(!refFused[0] && resourceFused[0], "fixture check: only the resource step fuses");
    int size = (int) FusedProximalStep.MIN_ELEMENTS;
    long seed = 7;
    int zeros = 0;
    for (int k = 0; k < 2; k++) {
      float[] w0 = values(seed + k, size, 0.5);
      float[] c = values(9 + k, size, 1.0);
      for (int i = 0; i < size; i++) {
        // Either path may round v = w − α·g once (a fused multiply-add) or twice: they may
        // differ by an ulp of the larger of w and α·g, which cancellation in v and the soft
        // threshold after it leave in place, so the tolerance is in ulps of those operands.
        double step = 0.1f * ((double) c[i] + w0[i]);
        double tolerance = 4 * (double) Math.ulp((float) Math.max(Math.abs(w0[i]), Math.abs(step)));
        assertEquals(ref[k][i], resource[k][i], tolerance, (k == 0 ? "kernel" : "other") + i);
        if (k == 0 && ref[0][i] == 0f) {
          zeros++;
          assertEquals(0f, Math.abs(resource[0][i]), "exact zero at " + i);
        }
      }
    }
    assertTrue(zeros > 0, "fixture check: the threshold caught some weights");
  }
}
