package io.github.tfl1l2.savedmodel;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The Keras CNN of {@code ../shared/savedmodels-external/keras-mnist-cnn}, as the tests of {@link
 * TrainableSavedModel} use it: its known variables, random input images, and its outputs computed
 * by TensorFlow's own call of {@code serving_default}, without the code under test.
 */
final class KerasCnn {
  static final String NAME = "keras-mnist-cnn";
  static final String INPUT = "conv2d_input";
  static final String OUTPUT = "dense_1";
  static final int CLASSES = 10;

  /** The 16 trainable variables, sorted by name (from the model's Keras definition). */
  static final List<String> TRAINABLE =
      List.of(
          "batch_normalization/beta", "batch_normalization/gamma",
          "batch_normalization_1/beta", "batch_normalization_1/gamma",
          "batch_normalization_2/beta", "batch_normalization_2/gamma",
          "conv2d/bias", "conv2d/kernel",
          "conv2d_1/bias", "conv2d_1/kernel",
          "conv2d_2/bias", "conv2d_2/kernel",
          "dense/bias", "dense/kernel",
          "dense_1/bias", "dense_1/kernel");

  private KerasCnn() {}

  /** The model's directory; skips the test where {@code ../shared} is absent. */
  static Path directory() {
    return TestModels.external(NAME);
  }

  /** {@code n} images of 28×28×1 pixels, uniform in [0, 1), from {@code seed}. */
  static float[] images(int n, long seed) {
    Random random = new Random(seed);
    float[] pixels = new float[n * 28 * 28];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = random.nextFloat();
    }
    return pixels;
  }

  static TFloat32 tensor(float[] pixels) {
    return TFloat32.tensorOf(
        Shape.of(pixels.length / (28 * 28), 28, 28, 1), DataBuffers.of(pixels, true, false));
  }

  /** The class probabilities {@code serving_default} of {@code bundle} gives, row by row. */
  static double[] serve(SavedModelBundle bundle, float[] pixels) {
    try (TFloat32 x = tensor(pixels);
        Result result = bundle.function("serving_default").call(Map.of(INPUT, x))) {
      return TestModels.values(result.get(OUTPUT).orElseThrow());
    }
  }

  /** The mean cross-entropy of {@code probabilities} for {@code labels}, in double precision. */
  static double crossEntropy(double[] probabilities, int[] labels) {
    double sum = 0.0;
    for (int i = 0; i < labels.length; i++) {
      sum -= Math.log(probabilities[i * CLASSES + labels[i]]);
    }
    return sum / labels.length;
  }
}
