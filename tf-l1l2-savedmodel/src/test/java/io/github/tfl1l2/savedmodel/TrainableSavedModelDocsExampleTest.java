package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The "Fine-tuning a SavedModel" example of {@code docs/training.md}, verbatim between the DOCS
 * markers below, run on the Keras CNN; the docs text is checked against it.
 */
class TrainableSavedModelDocsExampleTest {
  private static final String SECTION = "## Fine-tuning a SavedModel";
  private static final Path DOCS = Path.of("docs", "training.md");
  private static final Path SOURCE =
      Path.of(
          "tf-l1l2-savedmodel/src/test/java/io/github/tfl1l2/"
              + "savedmodel/TrainableSavedModelDocsExampleTest.java");

  @TempDir Path temp;

  static void example(Path dir, Path out, TFloat32 images, TInt32 classes) {
    // DOCS:BEGIN
    L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) { // serve, serving_default
      Ops tf = Ops.create(model.graph());
      Placeholder<TInt32> labels = tf.placeholder(TInt32.class);
      Operand<TFloat32> probabilities = model.output("dense_1", TFloat32.class);
      Operand<TFloat32> target =
          tf.oneHot(labels, tf.constant(10), tf.constant(1f), tf.constant(0f));
      Operand<TFloat32> loss =
          tf.math.mean(
              tf.math.squaredDifference(probabilities, target), tf.constant(new int[] {0, 1}));

      // Adam on the 16 trainable variables; the 5 kernels' updates carry the penalty's gradient.
      Op step = reg.minimize(new Adam(model.graph(), 1e-4f), loss, model.trainableVariables());
      model.session().initialize(); // Adam's new slots; the model's variables stay as restored
      for (int i = 0; i < 5; i++) {
        Session.Runner runner = model.session().runner().addTarget(step);
        runner.feed(model.input("conv2d_input"), images).feed(labels, classes).run().close();
      }
      model.exportTo(out, reg); // the trained values, and a regularization signature
    }
    // DOCS:END
  }

  @Test
  void theExampleLowersTheLossAndExportsTheRegularizationOfTheTrainedKernels() {
    Path dir = KerasCnn.directory();
    Path out = temp.resolve("tuned");
    int n = 32;
    float[] pixels = KerasCnn.images(n, 5);
    for (int i = 0; i < pixels.length; i++) {
      // Faint noise: at full brightness the CNN is certain of one class, and its softmax is flat.
      pixels[i] *= 0.1f;
    }
    int[] labels = new int[n];
    Random random = new Random(6);
    for (int i = 0; i < n; i++) {
      labels[i] = random.nextInt(KerasCnn.CLASSES);
    }
    double before;
    try (SavedModelBundle original = SavedModelBundle.load(dir.toString(), "serve")) {
      before = squaredError(KerasCnn.serve(original, pixels), labels);
    }
    try (TFloat32 images = KerasCnn.tensor(pixels);
        TInt32 classes = TInt32.vectorOf(labels)) {
      example(dir, out, images, classes);
    }
    try (SavedModelBundle tuned = SavedModelBundle.load(out.toString(), "serve")) {
      double after = squaredError(KerasCnn.serve(tuned, pixels), labels);
      assertTrue(after < 0.9 * before, "the loss fell from " + before + " to " + after);
      double l2Sum = 0;
      for (String name : KerasCnn.TRAINABLE) {
        if (name.endsWith("kernel")) {
          l2Sum +=
              References.l2Sum(TestModels.values(tuned.session(), name + "/Read/ReadVariableOp"));
        }
      }
      Map<String, Object> regularization = TestModels.callRegularization(tuned);
      TestModels.assertClose(
          1e-4 * l2Sum, ((double[]) regularization.get("penalty"))[0], "exported penalty");
    }
  }

  @Test
  void theDocsShowTheExampleAsTested() throws IOException {
    Path docs = DOCS;
    String text = Files.readString(docs);
    int section = text.indexOf(SECTION);
    assertTrue(section >= 0, docs + " has a \"" + SECTION + "\" section");
    Matcher block =
        Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(text.substring(section));
    assertTrue(block.find(), docs + " shows the example");
    String source = Files.readString(SOURCE);
    String body =
        source.substring(source.indexOf("// DOCS:BEGIN\n") + 14, source.indexOf("    // DOCS:END"));
    String unindented =
        body.lines()
            .map(l -> l.length() >= 4 ? l.substring(4) : l.strip())
            .reduce((a, b) -> a + "\n" + b)
            .orElse("")
            .strip();
    assertEquals(unindented, block.group(1).strip(), docs + " example and test");
  }

  /** The example's loss, mean((p − onehot)²), in double precision. */
  private static double squaredError(double[] probabilities, int[] labels) {
    double sum = 0;
    for (int i = 0; i < labels.length; i++) {
      for (int k = 0; k < KerasCnn.CLASSES; k++) {
        double d = probabilities[i * KerasCnn.CLASSES + k] - (k == labels[i] ? 1 : 0);
        sum += d * d;
      }
    }
    return sum / probabilities.length;
  }
}
