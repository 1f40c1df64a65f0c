package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.TrainableSavedModel.Mode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The "Training mode and the model's own losses" example of {@code docs/training.md}, verbatim: one
 * step on {@code mlp_bn_dropout} in {@link Mode#TRAINING}, then an export whose kernels and moving
 * statistics differ from the loaded ones ({@code TrainableSavedModelTrainingModeTest} checks that
 * they are exactly what the step left).
 */
class TrainableSavedModelTrainingModeDocsExampleTest {
  private static final List<String> VARIABLES =
      List.of(
          "batch_normalization_1/moving_mean",
          "batch_normalization_1/moving_variance",
          "dense_2/kernel",
          "dense_3/kernel");

  @TempDir Path temp;

  @Test
  void theDocumentedTrainingModeStepTrainsAndExports() {
    Path dir = TestModels.external("mlp_bn_dropout");
    Path out = temp.resolve("trained");
    L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
    Random random = new Random(11);
    float[] values = new float[32 * 30];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    List<byte[]> before = new ArrayList<>();
    try (SavedModelBundle original = SavedModelBundle.load(dir.toString(), "serve")) {
      for (String name : VARIABLES) {
        before.add(TestModels.bytes(original.session(), name + "/Read/ReadVariableOp"));
      }
    }
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(32, 30), DataBuffers.of(values, true, false))) {
      // spotless:off
      try (TrainableSavedModel model = TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING)) {
        Ops tf = Ops.create(model.graph());
        Operand<TFloat32> y = model.output("dense_3", TFloat32.class);
        Operand<TFloat32> dataLoss = tf.math.mean(tf.math.square(y), tf.constant(new int[] {0, 1}));
        Operand<TFloat32> loss = tf.math.add(dataLoss, model.modelLosses()); // Keras's objective
        Op step = reg.minimize(new GradientDescent(model.graph(), 0.01f), loss, model.trainableVariables());
        model.session().runner().feed(model.input("input_2"), x).addTarget(step).run().close();
        model.exportTo(out); // the trained weights and the updated moving statistics
      }
      // spotless:on
    }
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      for (int i = 0; i < VARIABLES.size(); i++) {
        byte[] exported =
            TestModels.bytes(reloaded.session(), VARIABLES.get(i) + "/Read/ReadVariableOp");
        assertFalse(Arrays.equals(before.get(i), exported), VARIABLES.get(i) + " was trained");
      }
    }
  }
}
