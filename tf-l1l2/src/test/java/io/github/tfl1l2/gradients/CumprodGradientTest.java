package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertClose;
import static io.github.tfl1l2.gradients.GradientChecker.assertMatches;
import static io.github.tfl1l2.gradients.GradientChecker.compute;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.op.math.Cumprod;
import org.tensorflow.proto.DataType;

/** The gradient of {@code Cumprod} for each axis and each {@code exclusive}/{@code reverse}. */
class CumprodGradientTest {
  private static final long[] SHAPE = {3, 4};

  private static GradientChecker.Gradients check(
      DataType dtype, double[] x, int axis, boolean exclusive, boolean reverse) {
    return compute(
        dtype,
        List.of(x),
        List.of(SHAPE),
        31 + axis,
        (tf, in) ->
            List.of(
                tf.math.cumprod(
                    in.get(0),
                    tf.constant(axis),
                    Cumprod.exclusive(exclusive),
                    Cumprod.reverse(reverse))));
  }

  private static double[] nonZero(long seed) {
    return GradientChecker.signedUniform(new Random(seed), GradientChecker.size(SHAPE), 0.5, 1.5);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void inclusiveForwardMatchesTheFiniteDifference(DataType dtype) {
    for (int axis : new int[] {0, 1, -1}) {
      assertMatches(dtype, check(dtype, nonZero(40 + axis), axis, false, false));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void exclusiveMatchesTheFiniteDifference(DataType dtype) {
    assertMatches(dtype, check(dtype, nonZero(50), 1, true, false));
    assertMatches(dtype, check(dtype, nonZero(51), 0, true, false));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void reverseMatchesTheFiniteDifference(DataType dtype) {
    assertMatches(dtype, check(dtype, nonZero(60), 1, false, true));
    assertMatches(dtype, check(dtype, nonZero(61), 0, false, true));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void exclusiveReverseMatchesTheFiniteDifference(DataType dtype) {
    assertMatches(dtype, check(dtype, nonZero(70), 1, true, true));
    assertMatches(dtype, check(dtype, nonZero(71), 0, true, true));
  }

  /**
   * Python TensorFlow's rule at zeros: an entry that is exactly 0 gets gradient 0 (its true
   * derivative is not computed), every other entry is exact, those sharing a row with a zero
   * included.
   */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void anEntryThatIsZeroGetsZeroAndTheOthersAreExact(DataType dtype) {
    for (boolean exclusive : new boolean[] {false, true}) {
      for (boolean reverse : new boolean[] {false, true}) {
        double[] x = nonZero(80);
        x[1] = 0; // row 0, column 1
        x[10] = 0; // row 2, column 2
        GradientChecker.Gradients g = check(dtype, x, 1, exclusive, reverse);
        double[] expected = g.numeric().get(0).clone();
        expected[1] = 0;
        expected[10] = 0;
        assertClose(
            dtype,
            expected,
            g.symbolic().get(0),
            "x (exclusive " + exclusive + ", reverse " + reverse + ")");
      }
    }
  }
}
