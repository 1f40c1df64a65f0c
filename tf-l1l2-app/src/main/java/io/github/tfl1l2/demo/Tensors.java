package io.github.tfl1l2.demo;

import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TFloat32;

/** Copies between Java arrays and float32 tensors. The caller closes the tensors it gets. */
final class Tensors {
  private Tensors() {}

  /** A {@code rows × columns} float32 matrix holding {@code values} rounded to float. */
  static TFloat32 matrix(double[][] values) {
    int columns = values.length == 0 ? 0 : values[0].length;
    return TFloat32.tensorOf(
        Shape.of(values.length, columns),
        t -> {
          for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < columns; j++) {
              t.setFloat((float) values[i][j], i, j);
            }
          }
        });
  }

  /** A float32 vector holding {@code values} rounded to float. */
  static TFloat32 vector(double[] values) {
    return TFloat32.tensorOf(
        Shape.of(values.length),
        t -> {
          for (int i = 0; i < values.length; i++) {
            t.setFloat((float) values[i], i);
          }
        });
  }

  /** The elements of a float32 vector. */
  static float[] toFloatArray(TFloat32 vector) {
    float[] values = new float[(int) vector.shape().get(0)];
    for (int i = 0; i < values.length; i++) {
      values[i] = vector.getFloat(i);
    }
    return values;
  }
}
