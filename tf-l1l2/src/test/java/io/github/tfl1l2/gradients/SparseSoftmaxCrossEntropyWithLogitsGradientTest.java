package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertMatches;
import static io.github.tfl1l2.gradients.GradientChecker.compute;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.nn.SparseSoftmaxCrossEntropyWithLogits;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The gradient of {@code SparseSoftmaxCrossEntropyWithLogits} with respect to its logits, through
 * the loss output, through the backprop output (the second-derivative term) and through both.
 */
class SparseSoftmaxCrossEntropyWithLogitsGradientTest {
  private static final long[] SHAPE = {5, 4};
  private static final int[] LABELS = {0, 3, 1, 1, 2};

  @SuppressWarnings("unchecked")
  private static <T extends TNumber> Operand<T> number(Operand<TType> x) {
    return (Operand<T>) (Operand<?>) x;
  }

  private static SparseSoftmaxCrossEntropyWithLogits<TNumber> op(Ops tf, Operand<TType> logits) {
    return tf.nn.sparseSoftmaxCrossEntropyWithLogits(number(logits), tf.constant(LABELS));
  }

  private static double[] logits(long seed) {
    return GradientChecker.signedUniform(new Random(seed), GradientChecker.size(SHAPE), 0.1, 3.0);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void lossGradientMatchesTheFiniteDifference(DataType dtype) {
    assertMatches(
        dtype,
        compute(
            dtype,
            List.of(logits(200)),
            List.of(SHAPE),
            201,
            (tf, in) -> List.of(op(tf, in.get(0)).loss())));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void backpropOutputsGradientMatchesTheFiniteDifference(DataType dtype) {
    assertMatches(
        dtype,
        compute(
            dtype,
            List.of(logits(210)),
            List.of(SHAPE),
            211,
            (tf, in) -> List.of(op(tf, in.get(0)).backprop())));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void bothOutputsGradientsAdd(DataType dtype) {
    assertMatches(
        dtype,
        compute(
            dtype,
            List.of(logits(220)),
            List.of(SHAPE),
            221,
            (tf, in) -> {
              var op = op(tf, in.get(0));
              return List.of(op.loss(), op.backprop());
            }));
  }

  /**
   * With only the loss used, the backprop output's gradient is the zeros TensorFlow fills in, and
   * the second-derivative term (a softmax and a reduction) is not built: the gradient is the op's
   * own backprop times the upstream gradient.
   */
  @Test
  void theUsualLossBuildsNoSecondDerivativeTerm() {
    MissingGradients.register();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> logits = tf.constant(new float[][] {{1, 2, 3}, {0, -1, 1}});
      Operand<TFloat32> loss =
          tf.nn.sparseSoftmaxCrossEntropyWithLogits(logits, tf.constant(new int[] {2, 0})).loss();
      g.addGradients(tf.sum(loss, tf.constant(0)).asOutput(), new Output<?>[] {logits.asOutput()});
      List<String> types = new ArrayList<>();
      g.operations().forEachRemaining(op -> types.add(op.type()));
      assertFalse(types.contains("Softmax"), "ops: " + types);
    }
  }
}
