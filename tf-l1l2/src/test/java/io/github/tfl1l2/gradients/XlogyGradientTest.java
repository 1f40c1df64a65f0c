package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertClose;
import static io.github.tfl1l2.gradients.GradientChecker.assertMatches;
import static io.github.tfl1l2.gradients.GradientChecker.compute;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.proto.DataType;

/** The gradient of {@code Xlogy(x, y)} with respect to both inputs, broadcasting included. */
class XlogyGradientTest {

  private static GradientChecker.Gradients check(
      DataType dtype, long seed, long[] shapeX, long[] shapeY, double zeroFraction) {
    Random random = new Random(seed);
    double[] x = GradientChecker.signedUniform(random, GradientChecker.size(shapeX), 0.2, 2.0);
    for (int i = 0; i < x.length; i++) {
      if (random.nextDouble() < zeroFraction) {
        x[i] = 0;
      }
    }
    // y > 0: log(y) is defined.
    double[] y = GradientChecker.uniform(random, GradientChecker.size(shapeY), 0.5, 2.5);
    return compute(
        dtype,
        List.of(x, y),
        List.of(shapeX, shapeY),
        seed,
        (tf, in) -> List.of(tf.math.xlogy(in.get(0), in.get(1))));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sameShapesMatchTheFiniteDifference(DataType dtype) {
    assertMatches(dtype, check(dtype, 11, new long[] {3, 4}, new long[] {3, 4}, 0));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void broadcastInputsGetTheirSummedGradient(DataType dtype) {
    assertMatches(dtype, check(dtype, 12, new long[] {3, 1, 4}, new long[] {2, 4}, 0));
    assertMatches(dtype, check(dtype, 13, new long[] {5}, new long[] {}, 0));
    assertMatches(dtype, check(dtype, 14, new long[] {}, new long[] {2, 3}, 0));
  }

  /**
   * Where {@code x == 0} Python TensorFlow's gradient is 0 for both inputs; the finite difference
   * agrees for {@code y} (x·log y does not move with y there) but gives {@code log(y)} for {@code
   * x}, so x's zero entries are checked against 0 and its other entries against the difference.
   */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void zerosOfXSendNoGradientToEitherInput(DataType dtype) {
    long[] shapeX = {4, 3};
    long[] shapeY = {3};
    GradientChecker.Gradients g = check(dtype, 15, shapeX, shapeY, 0.4);
    double[] x = g.at().get(0);
    double[] expectedX = g.numeric().get(0).clone();
    int zeros = 0;
    for (int i = 0; i < x.length; i++) {
      if (x[i] == 0) {
        expectedX[i] = 0;
        zeros++;
      }
    }
    assertEquals(true, zeros > 0 && zeros < x.length, "the case has zero and nonzero x");
    assertClose(dtype, expectedX, g.symbolic().get(0), "x");
    assertClose(dtype, g.numeric().get(1), g.symbolic().get(1), "y");
  }
}
