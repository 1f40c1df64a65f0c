package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.testing.References;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * One GradientDescent step on {@code data + penalty} moves each selected weight by {@code -lr *
 * (dData/dw + weight * (l1 * sign(w) + 2 * l2 * w))}.
 */
class GradientTest {
  private static final float LR = 0.25f;
  private static final double L1 = 0.03;
  private static final double L2 = 0.2;
  private static final double WEIGHT = 1.5;

  @ParameterizedTest(name = "read={0} xla={1}")
  @CsvSource({"ref,true", "ref,false", "identity,true", "identity,false"})
  void oneStepMatchesTheAnalyticUpdate(String read, boolean xla) {
    float[] kernelInit = Fixtures.randomWeights(7, 12, 1.0);
    kernelInit[3] = 0f; // sign(0) = 0: an exact zero stays put under the L1 term
    float[] biasInit = Fixtures.randomWeights(8, 4, 1.0);
    float[] dataGradient = Fixtures.randomWeights(9, 12, 0.1);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> kernel =
          tf.withName("kernel")
              .variable(tf.withInitScope().constant(Fixtures.tensor(kernelInit, 3, 4)));
      Variable<TFloat32> bias =
          tf.withName("bias").variable(tf.withInitScope().constant(Fixtures.tensor(biasInit, 4)));
      // data = sum(c * kernel) + sum(bias): dData/dkernel = c, dData/dbias = 1.
      Operand<TFloat32> data =
          tf.math.add(
              tf.reduceSum(
                  tf.math.mul(tf.constant(Fixtures.tensor(dataGradient, 3, 4)), kernel),
                  tf.constant(new int[] {0, 1})),
              tf.reduceSum(bias, tf.constant(0)));
      List<Operand<?>> params =
          read.equals("ref")
              ? List.of(kernel, bias)
              : List.of(tf.identity(kernel), tf.identity(bias));
      L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).on("kernel").xla(xla).build();
      Op step = new GradientDescent(g, LR).minimize(reg.addTo(tf, data, params));
      try (Session s = new Session(g)) {
        s.runner().addTarget(step).run();
        float[] kernelAfter = Fixtures.fetchFloats(s, kernel);
        float[] biasAfter = Fixtures.fetchFloats(s, bias);
        for (int i = 0; i < kernelInit.length; i++) {
          double w = kernelInit[i];
          double grad = dataGradient[i] + WEIGHT * References.penaltyGradient(w, L1, L2);
          double expected = w - LR * grad;
          assertEquals(
              expected, kernelAfter[i], 4 * Math.ulp((float) expected), "kernel[" + i + "]");
        }
        for (int i = 0; i < biasInit.length; i++) {
          double expected = biasInit[i] - LR * 1.0; // not selected by on("kernel"): no penalty
          assertEquals(expected, biasAfter[i], 4 * Math.ulp((float) expected), "bias[" + i + "]");
        }
      }
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @CsvSource({"true", "false"})
  void smallRefVariablesJoinedIntoOneReductionTrainLikeSeparateOnes(boolean xla) {
    float[][] inits = {
      Fixtures.randomWeights(31, 6, 1.0),
      Fixtures.randomWeights(32, 5, 1.0),
      Fixtures.randomWeights(33, 1, 1.0)
    };
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> variables = new java.util.ArrayList<>();
      for (int i = 0; i < inits.length; i++) {
        variables.add(
            tf.withName("v" + i)
                .variable(tf.withInitScope().constant(Fixtures.tensor(inits[i], inits[i].length))));
      }
      L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).xla(xla).build();
      Op step = new GradientDescent(g, LR).minimize(reg.addTo(tf, tf.constant(0f), variables));
      try (Session s = new Session(g)) {
        s.runner().addTarget(step).run();
        for (int v = 0; v < inits.length; v++) {
          float[] after = Fixtures.fetchFloats(s, variables.get(v));
          for (int i = 0; i < after.length; i++) {
            double w = inits[v][i];
            double expected = w - LR * WEIGHT * References.penaltyGradient(w, L1, L2);
            assertEquals(
                expected, after[i], 4 * Math.ulp((float) expected), "v" + v + "[" + i + "]");
          }
        }
      }
    }
  }
}
