package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.AdaGrad;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Momentum;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.RMSProp;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * {@link L1L2#minimize}: the same updates as {@code optimizer.minimize(reg.addTo(...))}, from one
 * fused data-plus-penalty gradient per weight.
 */
class MinimizeTest {
  private static final float LR = 0.05f;
  private static final double L1 = 0.02;
  private static final double L2 = 0.1;
  private static final double WEIGHT = 1.5;
  private static final int STEPS = 3;

  private static final float[] KERNEL = Fixtures.randomWeights(1, 12, 1.0);
  private static final float[] BIAS = Fixtures.randomWeights(2, 4, 1.0);
  private static final float[] EXTRA = Fixtures.randomWeights(3, 70_001, 1.0);
  private static final float[] INPUT = Fixtures.randomWeights(4, 5 * 3, 1.0);
  private static final float[] TARGET = Fixtures.randomWeights(5, 5 * 4, 1.0);

  static {
    KERNEL[2] = 0f; // sign(0) = 0
  }

  /** The model of one graph: a linear layer's MSE reaches kernel and bias, not extra_kernel. */
  private record Model(
      Ops tf,
      Variable<TFloat32> kernel,
      Variable<TFloat32> bias,
      Variable<TFloat32> extra,
      Operand<TFloat32> dataLoss,
      List<Operand<?>> weights) {
    static Model in(Graph g) {
      Ops tf = Ops.create(g);
      Ops init = tf.withInitScope();
      Variable<TFloat32> kernel =
          tf.withName("kernel").variable(init.constant(Fixtures.tensor(KERNEL, 3, 4)));
      Variable<TFloat32> bias =
          tf.withName("bias").variable(init.constant(Fixtures.tensor(BIAS, 4)));
      Variable<TFloat32> extra =
          tf.withName("extra_kernel").variable(init.constant(Fixtures.tensor(EXTRA, 70_001)));
      Operand<TFloat32> prediction =
          tf.math.add(tf.linalg.matMul(tf.constant(Fixtures.tensor(INPUT, 5, 3)), kernel), bias);
      Operand<TFloat32> error = tf.math.sub(prediction, tf.constant(Fixtures.tensor(TARGET, 5, 4)));
      Operand<TFloat32> dataLoss =
          tf.math.mean(tf.math.square(error), tf.constant(new int[] {0, 1}));
      return new Model(
          tf, kernel, bias, extra, dataLoss, List.of(kernel, tf.identity(bias), extra));
    }
  }

  private static Optimizer optimizer(String kind, Graph g) {
    return switch (kind) {
      case "GradientDescent" -> new GradientDescent(g, LR);
      case "Momentum" -> new Momentum(g, LR, 0.9f);
      case "RMSProp" -> new RMSProp(g, LR);
      case "AdaGrad" -> new AdaGrad(g, LR);
      case "Adam" -> new Adam(g, LR);
      default -> throw new AssertionError(kind);
    };
  }

  private static float[][] train(String kind, boolean xla, boolean fused) {
    L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).on("kernel").xla(xla).build();
    try (Graph g = new Graph()) {
      Model m = Model.in(g);
      Optimizer optimizer = optimizer(kind, g);
      Op step =
          fused
              ? reg.minimize(optimizer, m.dataLoss(), m.weights())
              : optimizer.minimize(reg.addTo(m.tf(), m.dataLoss(), m.weights()));
      try (Session s = new Session(g)) {
        for (int i = 0; i < STEPS; i++) {
          s.runner().addTarget(step).run();
        }
        return new float[][] {
          Fixtures.fetchFloats(s, m.kernel()),
          Fixtures.fetchFloats(s, m.bias()),
          Fixtures.fetchFloats(s, m.extra())
        };
      }
    }
  }

  @ParameterizedTest(name = "{0} xla={1}")
  @CsvSource({
    "GradientDescent,true",
    "GradientDescent,false",
    "Momentum,true",
    "RMSProp,true",
    "AdaGrad,true",
    "Adam,true"
  })
  void updatesEqualThoseOfMinimizingTheLossWithThePenaltyAdded(String kind, boolean xla) {
    float[][] expected = train(kind, xla, false);
    float[][] actual = train(kind, xla, true);
    float[][] initial = {KERNEL, BIAS, EXTRA};
    String[] names = {"kernel", "bias", "extra_kernel"};
    // Adam's bias-correction powers are updated without an order against its apply ops, so one
    // step may use the next step's power: its updates differ by up to ~0.3·lr per step.
    double tolerance = kind.equals("Adam") ? 0.4 * LR * STEPS : 0.0;
    for (int v = 0; v < 3; v++) {
      for (int i = 0; i < expected[v].length; i++) {
        double allowed = tolerance + 4 * Math.ulp(expected[v][i]) + 1e-7;
        assertEquals(expected[v][i], actual[v][i], allowed, names[v] + "[" + i + "]");
      }
      double moved = 0;
      for (int i = 0; i < expected[v].length; i++) {
        moved = Math.max(moved, Math.abs(actual[v][i] - initial[v][i]));
      }
      assertTrue(moved > tolerance, names[v] + " was trained: it moved by " + moved);
    }
  }

  @Test
  void aSelectedWeightTheDataLossDoesNotReachGetsThePenaltyGradientAlone() {
    float[][] after = train("GradientDescent", true, true);
    for (int i = 0; i < EXTRA.length; i++) {
      double w = EXTRA[i];
      for (int step = 0; step < STEPS; step++) {
        w = (float) (w - LR * WEIGHT * References.penaltyGradient(w, L1, L2));
      }
      // Each step rounds w − lr·(c1·sign(w) + 2·c2·w) to float: a few ulp of its largest term.
      double allowed = STEPS * 4 * Math.ulp((float) (Math.abs(EXTRA[i]) + LR * WEIGHT * L1));
      assertEquals(w, after[2][i], allowed, "extra_kernel[" + i + "]");
    }
  }

  @Test
  void aWeightOnDoesNotSelectGetsItsDataGradientAlone() {
    L1L2 kernelsOnly = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).on("kernel").build();
    try (Graph g = new Graph()) {
      Model m = Model.in(g);
      Op step = kernelsOnly.minimize(new GradientDescent(g, LR), m.dataLoss(), m.weights());
      try (Session s = new Session(g)) {
        s.runner().addTarget(step).run();
        float[] bias = Fixtures.fetchFloats(s, m.bias());
        for (int j = 0; j < 4; j++) {
          // d mean((X·K + b − T)²) / d b_j = (2/20) Σ_r (X·K + b − T)_rj, in double.
          double gradient = 0;
          for (int r = 0; r < 5; r++) {
            double prediction = BIAS[j];
            for (int k = 0; k < 3; k++) {
              prediction += (double) INPUT[r * 3 + k] * KERNEL[k * 4 + j];
            }
            gradient += 2.0 / 20 * (prediction - TARGET[r * 4 + j]);
          }
          double expected = BIAS[j] - LR * gradient;
          assertEquals(expected, bias[j], 1e-6, "bias[" + j + "]");
        }
      }
    }
    L1L2 none = L1L2.builder().l1(L1).l2(L2).on("nothing matches this").build();
    try (Graph g = new Graph()) {
      Model m = Model.in(g);
      Op step = none.minimize(new GradientDescent(g, LR), m.dataLoss(), m.weights());
      try (Session s = new Session(g)) {
        s.runner().addTarget(step).run();
        // Neither selected nor reached by the data loss: not updated.
        assertEquals(EXTRA[7], Fixtures.fetchFloats(s, m.extra())[7], 0.0);
      }
    }
  }

  @Test
  void dataAndPenaltyGradientOfAWeightAreOneXlaComputation() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g);
      Set<String> before = new HashSet<>();
      g.operations().forEachRemaining(op -> before.add(op.name()));
      L1L2.builder()
          .l1(L1)
          .l2(L2)
          .on("kernel")
          .build()
          .minimize(new GradientDescent(g, LR), m.dataLoss(), m.weights());
      List<GraphOperation> added = new ArrayList<>();
      Iterator<GraphOperation> it = g.operations();
      while (it.hasNext()) {
        GraphOperation op = it.next();
        if (!before.contains(op.name())) {
          added.add(op);
        }
      }
      Set<String> clustersWithSign = new HashSet<>();
      for (GraphOperation op : added) {
        if (op.type().equals("Sign")) {
          clustersWithSign.add(op.attributes().getAttrString(XlaScope.XLA_SCOPE_ATTR));
        }
        assertTrue(
            !op.type().equals("AddN"),
            "no separate sum of data and penalty gradients: " + op.name());
        assertTrue(
            !op.type().equals("Abs") && !op.type().equals("Square"),
            "no forward penalty: " + op.name());
      }
      // kernel and extra_kernel share one cluster; kernel's data gradient is added inside it.
      assertEquals(1, clustersWithSign.size());
      List<GraphOperation> dataGradientAdds =
          added.stream()
              .filter(op -> op.type().equals("Add"))
              .filter(op -> op.input(0).op().name().startsWith("gradients"))
              .toList();
      assertEquals(
          1, dataGradientAdds.size(), "kernel's data gradient is added once: " + dataGradientAdds);
      assertTrue(
          clustersWithSign.contains(
              dataGradientAdds.get(0).attributes().getAttrString(XlaScope.XLA_SCOPE_ATTR)),
          "in the cluster that computes sign(kernel)");
    }
  }

  @Test
  void badArgumentsAreRejectedWithOneClearException() {
    L1L2 reg = L1L2.of(0.1, 0.1);
    try (Graph g = new Graph();
        Graph other = new Graph()) {
      Model m = Model.in(g);
      Optimizer gd = new GradientDescent(g, LR);
      assertEquals(
          "optimizer must not be null",
          assertThrows(
                  NullPointerException.class, () -> reg.minimize(null, m.dataLoss(), m.weights()))
              .getMessage());
      assertEquals(
          "weights must not be null",
          assertThrows(NullPointerException.class, () -> reg.minimize(gd, m.dataLoss(), null))
              .getMessage());
      Function<Runnable, String> iae =
          r -> assertThrows(IllegalArgumentException.class, r::run).getMessage();
      assertEquals(
          "reduction must be SUM or SUM_OVER_BATCH_SIZE to add the penalty to a loss, but was NONE",
          iae.apply(
              () ->
                  reg.toBuilder()
                      .reduction(Reduction.NONE)
                      .build()
                      .minimize(gd, m.dataLoss(), m.weights())));
      Operand<TFloat32> constant = m.tf().withName("not_a_variable").constant(new float[] {1f});
      assertEquals(
          "weights[1] (op \"not_a_variable\", a Const) is not a variable; allowed are a"
              + " VariableV2 or VarHandleOp output, or an Identity or ReadVariableOp read of one",
          iae.apply(() -> reg.minimize(gd, m.dataLoss(), List.of(m.kernel(), constant))));
      Operand<TInt32> integerLoss = m.tf().withName("count").constant(3);
      assertEquals(
          "dataLoss (op \"count\") has dtype DT_INT32; allowed are DT_HALF, DT_BFLOAT16, DT_FLOAT"
              + " and DT_DOUBLE",
          iae.apply(() -> reg.minimize(gd, integerLoss, m.weights())));
      Operand<TFloat32> foreign = Ops.create(other).withName("elsewhere").constant(1f);
      assertEquals(
          "dataLoss (op \"elsewhere\") belongs to another execution environment than the"
              + " optimizer's graph",
          iae.apply(() -> reg.minimize(gd, foreign, m.weights())));
    }
  }
}
