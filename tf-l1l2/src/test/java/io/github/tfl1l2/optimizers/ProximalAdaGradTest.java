package io.github.tfl1l2.optimizers;

import static io.github.tfl1l2.optimizers.ProximalGradientDescentTest.assertClose;
import static io.github.tfl1l2.optimizers.ProximalGradientDescentTest.assertStrictOptimality;
import static io.github.tfl1l2.optimizers.ProximalGradientDescentTest.zeroSet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import org.junit.jupiter.api.Test;
import org.tensorflow.op.Op;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * {@link ProximalAdaGrad}: each element takes the proximal step with its own step size {@code
 * lr/√a}, a = 0.1 + Σg²; checked against closed forms and coordinate descent in double.
 */
class ProximalAdaGradTest {
  private static final LeastSquares PROBLEM = LeastSquares.random(11, 40, 8);

  @Test
  void oneStepIsTheClosedFormProxWithThePerElementStepSize() {
    float lr = 0.2f;
    L1L2 reg = L1L2.builder().l1(0.4).l2(0.3).weight(1.5).build();
    float[] w0 = {0.8f, -0.02f, 0.03f, -1.1f, 0.0f, 0.5f, -0.3f, 0.01f};
    double[] g = PROBLEM.gradient(ProximalGradientDescentTest.toDouble(w0));
    double[] expected = new double[w0.length];
    for (int j = 0; j < w0.length; j++) {
      double eta = lr / Math.sqrt(ProximalAdaGrad.INITIAL_ACCUMULATOR_DEFAULT + g[j] * g[j]);
      double v = w0[j] - eta * g[j];
      expected[j] = References.proximalStep(v, eta, 1.5 * 0.4, 1.5 * 0.3);
    }
    try (LinearModel model = new LinearModel(PROBLEM, w0)) {
      ProximalAdaGrad optimizer = new ProximalAdaGrad(model.graph, lr, reg);
      Op step = optimizer.minimize(model.dataLoss);
      model.run(step, 1);
      assertClose(expected, model.kernel(), 1e-5);
      float[] accumulator =
          model.values(
              optimizer
                  .getSlot(model.kernel.asOutput(), ProximalAdaGrad.ACCUMULATOR)
                  .orElseThrow());
      for (int j = 0; j < w0.length; j++) {
        assertEquals(0.1 + g[j] * g[j], accumulator[j], 1e-5 * (1 + g[j] * g[j]), "a[" + j + "]");
      }
    }
  }

  @Test
  void lassoIteratesReachTheCoordinateDescentOptimumWithItsExactZeros() {
    double l1 = 0.3 * PROBLEM.l1Max();
    double[] optimum = References.elasticNet(PROBLEM.x, PROBLEM.y, l1, 0.0, false).weights();
    assertStrictOptimality(optimum, l1, 0.0);
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      model.run(new ProximalAdaGrad(model.graph, 0.5f, L1L2.l1(l1)).minimize(model.dataLoss), 3000);
      float[] w = model.kernel();
      assertClose(optimum, w, 1e-4);
      assertEquals(zeroSet(optimum), zeroSet(w), "exact zeros (w == 0)");
    }
  }

  @Test
  void unselectedVariablesTakeAPlainAdaGradStep() {
    float lr = 0.1f;
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      Variable<TFloat32> bias =
          model
              .tf
              .withName("bias")
              .variable(model.tf.withInitScope().constant(new float[] {0.5f, -2f}));
      float[] c = {3f, -4f}; // bias enters the loss as Σ c·bias: its gradient is c
      var loss =
          model.tf.math.add(
              model.dataLoss,
              model.tf.reduceSum(
                  model.tf.math.mul(model.tf.identity(bias), model.tf.constant(c)),
                  model.tf.constant(0)));
      L1L2 reg = L1L2.builder().l1(100.0).on("kernel").build();
      model.run(new ProximalAdaGrad(model.graph, lr, reg).minimize(loss), 1);
      float[] after = model.values(bias);
      assertEquals(0.5 - lr * 3 / Math.sqrt(0.1 + 9), after[0], 1e-6);
      assertEquals(-2 + lr * 4 / Math.sqrt(0.1 + 16), after[1], 1e-6);
    }
  }

  @Test
  void aSecondMinimizeDoesNotTrainTheFirstOnesAccumulators() {
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      ProximalAdaGrad optimizer = new ProximalAdaGrad(model.graph, 0.1f, L1L2.l1(100.0));
      optimizer.minimize(model.dataLoss);
      Op second = optimizer.minimize(model.dataLoss);
      model.run(second, 1);
      // an l1 of 100 would zero any accumulator it shrank; a = 0.1 + g² stays positive.
      float[] accumulator =
          model.values(
              optimizer
                  .getSlot(model.kernel.asOutput(), ProximalAdaGrad.ACCUMULATOR)
                  .orElseThrow());
      for (float a : accumulator) {
        assertTrue(a >= 0.1f, "accumulator " + a);
      }
    }
  }
}
