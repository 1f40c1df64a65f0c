package io.github.tfl1l2.gradients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TType;

/**
 * A gradient checker after TensorFlow's own: the op under test, built from its floating inputs,
 * feeds the scalar loss {@code L = Σ_k Σ w_k ⊙ outputs_k} with random weights {@code w_k} (so that
 * no error hides in a plain sum, where a wrong permutation or a wrong scale would cancel), and
 * {@code ∂L/∂input} from {@code Graph.addGradients} (after {@link MissingGradients#register()}) is
 * compared with a central finite difference of the same loss.
 *
 * <p>The finite difference is always computed in float64, at the input values rounded to the dtype
 * under test, so both sides see the same point. The symbolic side runs the op and its gradient in
 * the dtype under test: inputs are fed in float64 and cast to it, outputs are cast back to float64
 * before the weighted sum, so only the op and its gradient work in the narrow dtype (the casts'
 * gradients are exact).
 */
final class GradientChecker {
  private GradientChecker() {}

  /** Builds the op's outputs from its floating inputs (already in the dtype under test). */
  interface OpUnderTest extends BiFunction<Ops, List<Operand<TType>>, List<Operand<?>>> {}

  /**
   * The two gradients of each input, flattened; the (rounded) point they were taken at; the loss
   * weights of each output.
   */
  record Gradients(
      List<double[]> symbolic, List<double[]> numeric, List<double[]> at, List<double[]> weights) {}

  /**
   * The tolerance for the dtype, relative to {@code max(1, max |numeric|)} of one input's gradient.
   * The op's outputs and each gradient op round to the dtype (relative error ε/2 each, ε = 2^-52,
   * 2^-23, 2^-10 and 2^-7), and a gradient entry adds a few such terms; 16·ε bounds that with
   * margin while a wrong formula (a missing term, a wrong scale or position) is off by O(1).
   * float64 is bounded by the finite difference itself (step 1e-5: truncation ~1e-10, rounding
   * ~1e-10), hence 1e-6.
   */
  static double tolerance(DataType dtype) {
    return switch (dtype) {
      case DT_DOUBLE -> 1e-6;
      case DT_FLOAT -> 16 * Math.ulp(1.0f);
      case DT_HALF -> 16 * 0x1p-10;
      case DT_BFLOAT16 -> 16 * 0x1p-7;
      default -> throw new IllegalArgumentException("not a floating dtype: " + dtype);
    };
  }

  /**
   * Computes both gradients of {@code op} at {@code values} (one flattened array per floating
   * input, of the given shapes) for the dtype {@code dtype}, with loss weights drawn from {@code
   * seed}.
   */
  static Gradients compute(
      DataType dtype, List<double[]> values, List<long[]> shapes, long seed, OpUnderTest op) {
    MissingGradients.register();
    List<double[]> at = rounded(dtype, values, shapes);
    List<double[]> weights;
    List<long[]> outputShapes = new ArrayList<>();
    // The float64 graph: the outputs' shapes (for the weights), then the finite differences.
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      List<Placeholder<TFloat64>> inputs = placeholders(tf, shapes);
      List<Operand<?>> outputs = op.apply(tf, asTyped(inputs));
      try (Feeds feeds = new Feeds(inputs, at, shapes)) {
        Session.Runner runner = feeds.into(s.runner());
        outputs.forEach(runner::fetch);
        try (Result result = runner.run()) {
          for (int k = 0; k < outputs.size(); k++) {
            outputShapes.add(result.get(k).shape().asArray());
          }
        }
      }
      weights = weights(outputShapes, seed);
      List<Placeholder<TFloat64>> w = placeholders(tf, outputShapes);
      Operand<TFloat64> loss = weightedSum(tf, outputs, w);
      List<double[]> numeric = new ArrayList<>();
      for (int i = 0; i < at.size(); i++) {
        double[] gradient = new double[at.get(i).length];
        for (int j = 0; j < gradient.length; j++) {
          double x = at.get(i)[j];
          double h = 1e-5 * Math.max(1, Math.abs(x));
          double up = lossAt(s, inputs, at, shapes, w, weights, outputShapes, loss, i, j, x + h);
          double down = lossAt(s, inputs, at, shapes, w, weights, outputShapes, loss, i, j, x - h);
          gradient[j] = (up - down) / (2 * h);
        }
        numeric.add(gradient);
      }
      return new Gradients(
          symbolic(dtype, at, shapes, weights, outputShapes, op), numeric, at, weights);
    }
  }

  /** Asserts that each input's symbolic gradient matches its finite difference within tolerance. */
  static void assertMatches(DataType dtype, Gradients gradients) {
    for (int i = 0; i < gradients.numeric().size(); i++) {
      assertClose(dtype, gradients.numeric().get(i), gradients.symbolic().get(i), "input " + i);
    }
  }

  /** Asserts {@code actual} is within the dtype's tolerance of {@code expected}. */
  static void assertClose(DataType dtype, double[] expected, double[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    double scale = 1;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double bound = tolerance(dtype) * scale;
    for (int j = 0; j < expected.length; j++) {
      double error = Math.abs(expected[j] - actual[j]);
      assertTrue(
          error <= bound,
          () ->
              what
                  + " ("
                  + dtype
                  + "): expected "
                  + Arrays.toString(expected)
                  + " but the gradient is "
                  + Arrays.toString(actual));
    }
  }

  /** Uniform values in ±[low, high] (a sign and a magnitude), from {@code random}. */
  static double[] signedUniform(Random random, int size, double low, double high) {
    double[] values = new double[size];
    for (int i = 0; i < size; i++) {
      double magnitude = low + (high - low) * random.nextDouble();
      values[i] = random.nextBoolean() ? magnitude : -magnitude;
    }
    return values;
  }

  /** Uniform values in [low, high], from {@code random}. */
  static double[] uniform(Random random, int size, double low, double high) {
    double[] values = new double[size];
    for (int i = 0; i < size; i++) {
      values[i] = low + (high - low) * random.nextDouble();
    }
    return values;
  }

  static int size(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return Math.toIntExact(n);
  }

  private static List<double[]> symbolic(
      DataType dtype,
      List<double[]> at,
      List<long[]> shapes,
      List<double[]> weights,
      List<long[]> outputShapes,
      OpUnderTest op) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      List<Placeholder<TFloat64>> inputs = placeholders(tf, shapes);
      List<Operand<TType>> cast = new ArrayList<>();
      for (Placeholder<TFloat64> input : inputs) {
        cast.add(GradientOps.castTo(tf, input, dtype));
      }
      List<Operand<?>> outputs = op.apply(tf, cast);
      List<Placeholder<TFloat64>> w = placeholders(tf, outputShapes);
      Operand<TFloat64> loss = weightedSum(tf, outputs, w);
      Output<?>[] gradients =
          g.addGradients(
              loss.asOutput(), inputs.stream().map(Operand::asOutput).toArray(Output<?>[]::new));
      try (Feeds feeds = new Feeds(inputs, at, shapes);
          Feeds weightFeeds = new Feeds(w, weights, outputShapes)) {
        Session.Runner runner = weightFeeds.into(feeds.into(s.runner()));
        for (Output<?> gradient : gradients) {
          runner.fetch(gradient);
        }
        List<double[]> result = new ArrayList<>();
        try (Result r = runner.run()) {
          for (int i = 0; i < gradients.length; i++) {
            result.add(doubles((TFloat64) r.get(i)));
          }
        }
        return result;
      }
    }
  }

  private static double lossAt(
      Session s,
      List<Placeholder<TFloat64>> inputs,
      List<double[]> at,
      List<long[]> shapes,
      List<Placeholder<TFloat64>> w,
      List<double[]> weights,
      List<long[]> outputShapes,
      Operand<TFloat64> loss,
      int input,
      int element,
      double value) {
    List<double[]> moved = new ArrayList<>(at);
    double[] changed = at.get(input).clone();
    changed[element] = value;
    moved.set(input, changed);
    try (Feeds feeds = new Feeds(inputs, moved, shapes);
        Feeds weightFeeds = new Feeds(w, weights, outputShapes);
        Result r = weightFeeds.into(feeds.into(s.runner())).fetch(loss).run()) {
      return ((TFloat64) r.get(0)).getDouble();
    }
  }

  /** {@code values} rounded to {@code dtype} and back (each exactly representable in it). */
  private static List<double[]> rounded(
      DataType dtype, List<double[]> values, List<long[]> shapes) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      List<Placeholder<TFloat64>> inputs = placeholders(tf, shapes);
      List<Operand<TFloat64>> back = new ArrayList<>();
      for (Placeholder<TFloat64> input : inputs) {
        back.add(GradientOps.castTo(tf, GradientOps.castTo(tf, input, dtype), DataType.DT_DOUBLE));
      }
      try (Feeds feeds = new Feeds(inputs, values, shapes)) {
        Session.Runner runner = feeds.into(s.runner());
        back.forEach(runner::fetch);
        List<double[]> result = new ArrayList<>();
        try (Result r = runner.run()) {
          for (int i = 0; i < back.size(); i++) {
            result.add(doubles((TFloat64) r.get(i)));
          }
        }
        return result;
      }
    }
  }

  private static List<double[]> weights(List<long[]> shapes, long seed) {
    Random random = new Random(seed);
    List<double[]> weights = new ArrayList<>();
    for (long[] shape : shapes) {
      weights.add(signedUniform(random, size(shape), 0.5, 1.5));
    }
    return weights;
  }

  private static Operand<TFloat64> weightedSum(
      Ops tf, List<Operand<?>> outputs, List<Placeholder<TFloat64>> weights) {
    Operand<TFloat64> loss = tf.constant(0.0);
    for (int k = 0; k < outputs.size(); k++) {
      Operand<TFloat64> out = GradientOps.castTo(tf, outputs.get(k), DataType.DT_DOUBLE);
      Operand<TFloat64> product = tf.math.mul(weights.get(k), out);
      loss =
          tf.math.add(
              loss, tf.sum(product, tf.range(tf.constant(0), tf.rank(product), tf.constant(1))));
    }
    return loss;
  }

  private static List<Placeholder<TFloat64>> placeholders(Ops tf, List<long[]> shapes) {
    List<Placeholder<TFloat64>> result = new ArrayList<>();
    for (long[] shape : shapes) {
      result.add(tf.placeholder(TFloat64.class, Placeholder.shape(Shape.of(shape))));
    }
    return result;
  }

  @SuppressWarnings("unchecked")
  private static List<Operand<TType>> asTyped(List<Placeholder<TFloat64>> inputs) {
    List<Operand<TType>> result = new ArrayList<>();
    for (Placeholder<TFloat64> input : inputs) {
      result.add((Operand<TType>) (Operand<?>) input);
    }
    return result;
  }

  static double[] doubles(TFloat64 tensor) {
    double[] values = new double[Math.toIntExact(tensor.shape().size())];
    tensor.copyTo(DataBuffers.of(values, false, false));
    return values;
  }

  /** The tensors fed for a list of placeholders, closed together. */
  private static final class Feeds implements AutoCloseable {
    private final List<Placeholder<TFloat64>> placeholders;
    private final List<Tensor> tensors = new ArrayList<>();

    Feeds(List<Placeholder<TFloat64>> placeholders, List<double[]> values, List<long[]> shapes) {
      this.placeholders = placeholders;
      for (int i = 0; i < placeholders.size(); i++) {
        tensors.add(
            TFloat64.tensorOf(Shape.of(shapes.get(i)), DataBuffers.of(values.get(i), true, false)));
      }
    }

    Session.Runner into(Session.Runner runner) {
      for (int i = 0; i < placeholders.size(); i++) {
        runner.feed(placeholders.get(i), tensors.get(i));
      }
      return runner;
    }

    @Override
    public void close() {
      tensors.forEach(Tensor::close);
    }
  }
}
