package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertClose;
import static io.github.tfl1l2.gradients.GradientChecker.compute;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Operand;
import org.tensorflow.op.math.Cumprod;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * Every gradient on shapes drawn at random (fixed seeds): ranks 0 to 3, dimensions of 1 (and 0
 * where the op allows), random broadcasting, random {@code k}, axes and attributes, random repeated
 * indices and segments. Each case names its seed and shapes when it fails.
 */
class RandomShapesGradientTest {
  private static final int CASES = 5;

  @SuppressWarnings("unchecked")
  private static <T extends TNumber> Operand<T> number(Operand<TType> x) {
    return (Operand<T>) (Operand<?>) x;
  }

  private static long[] shape(Random random, int rank, int maxDim) {
    long[] shape = new long[rank];
    for (int i = 0; i < rank; i++) {
      shape[i] = 1 + random.nextInt(maxDim);
    }
    return shape;
  }

  /**
   * x and y whose shapes broadcast: a common shape, each dimension kept or made 1, some dropped.
   */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void xlogy(DataType dtype) {
    for (int c = 0; c < CASES; c++) {
      long seed = 1000 + c;
      Random random = new Random(seed);
      long[] common = shape(random, random.nextInt(4), 3);
      long[] shapeX = broadcastable(random, common);
      long[] shapeY = broadcastable(random, common);
      double[] x = GradientChecker.signedUniform(random, GradientChecker.size(shapeX), 0.2, 2);
      double[] y = GradientChecker.uniform(random, GradientChecker.size(shapeY), 0.5, 2.5);
      for (int i = 0; i < x.length; i++) {
        if (random.nextInt(4) == 0) {
          x[i] = 0;
        }
      }
      GradientChecker.Gradients g =
          compute(
              dtype,
              List.of(x, y),
              List.of(shapeX, shapeY),
              seed,
              (tf, in) -> List.of(tf.math.xlogy(in.get(0), in.get(1))));
      // Python's rule at x = 0: no gradient to x there (the finite difference would be log y).
      double[] expectedX = g.numeric().get(0).clone();
      for (int i = 0; i < x.length; i++) {
        if (g.at().get(0)[i] == 0) {
          expectedX[i] = 0;
        }
      }
      String what =
          "seed " + seed + ", x " + Arrays.toString(shapeX) + ", y " + Arrays.toString(shapeY);
      assertClose(dtype, expectedX, g.symbolic().get(0), what + ": x");
      assertClose(dtype, g.numeric().get(1), g.symbolic().get(1), what + ": y");
    }
  }

  private static long[] broadcastable(Random random, long[] common) {
    int drop = common.length == 0 ? 0 : random.nextInt(common.length + 1);
    long[] shape = Arrays.copyOfRange(common, drop, common.length);
    for (int i = 0; i < shape.length; i++) {
      if (random.nextInt(3) == 0) {
        shape[i] = 1;
      }
    }
    return shape;
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void cumprod(DataType dtype) {
    for (int c = 0; c < CASES; c++) {
      long seed = 2000 + c;
      Random random = new Random(seed);
      int rank = 1 + random.nextInt(3);
      long[] shape = shape(random, rank, 4);
      int axis = random.nextInt(2 * rank) - rank;
      boolean exclusive = random.nextBoolean();
      boolean reverse = random.nextBoolean();
      double[] x = GradientChecker.signedUniform(random, GradientChecker.size(shape), 0.5, 1.5);
      GradientChecker.Gradients g =
          compute(
              dtype,
              List.of(x),
              List.of(shape),
              seed,
              (tf, in) ->
                  List.of(
                      tf.math.cumprod(
                          in.get(0),
                          tf.constant(axis),
                          Cumprod.exclusive(exclusive),
                          Cumprod.reverse(reverse))));
      assertClose(
          dtype,
          g.numeric().get(0),
          g.symbolic().get(0),
          "seed "
              + seed
              + ", shape "
              + Arrays.toString(shape)
              + ", axis "
              + axis
              + ", exclusive "
              + exclusive
              + ", reverse "
              + reverse);
    }
  }

  /**
   * Values distinct per row in every dtype (quarter steps below 16), k from 0 to the row length.
   */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void topK(DataType dtype) {
    for (int c = 0; c < CASES; c++) {
      long seed = 3000 + c;
      Random random = new Random(seed);
      long[] shape = shape(random, 1 + random.nextInt(3), 5);
      int columns = (int) shape[shape.length - 1];
      int k = random.nextInt(columns + 1);
      int size = GradientChecker.size(shape);
      double[] x = new double[size];
      for (int row = 0; row < size / columns; row++) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
          order.add(i);
        }
        Collections.shuffle(order, random);
        for (int i = 0; i < columns; i++) {
          x[row * columns + i] = (order.get(i) - columns / 2) * 0.25 + row * 0.125;
        }
      }
      GradientChecker.Gradients g =
          compute(
              dtype,
              List.of(x),
              List.of(shape),
              seed,
              (tf, in) ->
                  List.of(tf.nn.topK(number(in.get(0)), tf.constant(k), TInt32.class).values()));
      assertClose(
          dtype,
          g.numeric().get(0),
          g.symbolic().get(0),
          "seed " + seed + ", shape " + Arrays.toString(shape) + ", k " + k);
    }
  }

  /** Random rows taken (repeats likely), sorted segment ids with gaps, extra trailing segments. */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentReductions(DataType dtype) {
    for (int c = 0; c < CASES; c++) {
      long seed = 4000 + c;
      Random random = new Random(seed);
      int rows = 1 + random.nextInt(5);
      long[] trailing = shape(random, random.nextInt(3), 3);
      long[] shape = new long[trailing.length + 1];
      shape[0] = rows;
      System.arraycopy(trailing, 0, shape, 1, trailing.length);
      int entries = random.nextInt(8);
      int[] indices = new int[entries];
      int[] segments = new int[entries];
      int segment = random.nextInt(2);
      for (int i = 0; i < entries; i++) {
        indices[i] = random.nextInt(rows);
        segment += random.nextInt(3) == 0 ? 1 + random.nextInt(2) : 0;
        segments[i] = segment;
      }
      int numSegments = segment + 1 + random.nextInt(2);
      double[] data = GradientChecker.signedUniform(random, GradientChecker.size(shape), 0.5, 1.5);
      String what =
          "seed "
              + seed
              + ", data "
              + Arrays.toString(shape)
              + ", indices "
              + Arrays.toString(indices)
              + ", segments "
              + Arrays.toString(segments);
      for (int kind = 0; kind < 6; kind++) {
        int reduction = kind / 2;
        boolean withNumSegments = kind % 2 == 1;
        if (entries == 0 && !withNumSegments) {
          continue; // without num_segments an empty op has no rows to give a gradient to
        }
        GradientChecker.Gradients g =
            compute(
                dtype,
                List.of(data),
                List.of(shape),
                seed,
                (tf, in) -> {
                  Operand<TNumber> d = number(in.get(0));
                  var i = tf.constant(indices);
                  var s = tf.constant(segments);
                  var n = tf.constant(numSegments);
                  Operand<?> out =
                      switch (reduction) {
                        case 0 ->
                            withNumSegments
                                ? tf.sparse.sparseSegmentSumWithNumSegments(d, i, s, n)
                                : tf.sparse.sparseSegmentSum(d, i, s);
                        case 1 ->
                            withNumSegments
                                ? tf.sparse.sparseSegmentMeanWithNumSegments(d, i, s, n)
                                : tf.sparse.sparseSegmentMean(d, i, s);
                        default ->
                            withNumSegments
                                ? tf.sparse.sparseSegmentSqrtNWithNumSegments(d, i, s, n)
                                : tf.sparse.sparseSegmentSqrtN(d, i, s);
                      };
                  return List.of(out);
                });
        assertClose(
            dtype,
            g.numeric().get(0),
            g.symbolic().get(0),
            what + ", reduction " + reduction + ", with num_segments " + withNumSegments);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSoftmaxCrossEntropyWithLogits(DataType dtype) {
    for (int c = 0; c < CASES; c++) {
      long seed = 5000 + c;
      Random random = new Random(seed);
      long[] shape = {1 + random.nextInt(5), 1 + random.nextInt(5)};
      int[] labels = new int[(int) shape[0]];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = random.nextInt((int) shape[1]);
      }
      boolean useBackprop = random.nextBoolean();
      double[] logits = GradientChecker.signedUniform(random, GradientChecker.size(shape), 0, 3);
      GradientChecker.Gradients g =
          compute(
              dtype,
              List.of(logits),
              List.of(shape),
              seed,
              (tf, in) -> {
                var op =
                    tf.nn.sparseSoftmaxCrossEntropyWithLogits(
                        number(in.get(0)), tf.constant(labels));
                return useBackprop ? List.of(op.loss(), op.backprop()) : List.of(op.loss());
              });
      assertClose(
          dtype,
          g.numeric().get(0),
          g.symbolic().get(0),
          "seed " + seed + ", logits " + Arrays.toString(shape) + ", backprop used " + useBackprop);
    }
  }
}
