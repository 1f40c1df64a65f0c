package io.github.tfl1l2;

import java.util.Random;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/** Deterministic weights and small helpers to fetch values. */
final class Fixtures {
  private Fixtures() {}

  static float[] randomWeights(long seed, int size, double scale) {
    Random random = new Random(seed);
    float[] values = new float[size];
    for (int i = 0; i < size; i++) {
      values[i] = (float) (random.nextGaussian() * scale);
    }
    return values;
  }

  static TFloat32 tensor(float[] values, long... shape) {
    return TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(values, true, false));
  }

  /** Runs {@code operand} and returns its value as double (any floating scalar). */
  static double fetchScalar(Session session, Operand<?> operand) {
    try (Result result = session.runner().fetch(operand).run()) {
      return scalar(result.get(0));
    }
  }

  /** Runs {@code operand} and returns its values as floats (any floating tensor). */
  static float[] fetchFloats(Session session, Operand<?> operand) {
    try (Result result = session.runner().fetch(operand).run()) {
      return floats(result.get(0));
    }
  }

  static double scalar(Tensor tensor) {
    if (tensor instanceof TFloat64 t) {
      return t.getDouble();
    }
    return floats(tensor)[0];
  }

  /** Values of a float16, bfloat16 or float32 tensor, each exactly as stored. */
  static float[] floats(Tensor tensor) {
    float[] values = new float[(int) tensor.shape().size()];
    if (tensor instanceof TFloat64 t) {
      double[] doubles = new double[values.length];
      t.copyTo(DataBuffers.of(doubles, false, false));
      for (int i = 0; i < doubles.length; i++) {
        values[i] = (float) doubles[i];
      }
      return values;
    }
    @SuppressWarnings("unchecked")
    org.tensorflow.ndarray.FloatNdArray array = (org.tensorflow.ndarray.FloatNdArray) tensor;
    array.copyTo(DataBuffers.of(values, false, false));
    return values;
  }

  static <T extends TFloating> Class<T> same(Class<T> type) {
    return type;
  }
}
