package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.L1L2;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The Java examples of docs/savedmodels.md, as written there ({@code DocumentedExamplesTest} checks
 * that they appear here verbatim), run on a small dense layer.
 */
class SavedModelDocsExamplesTest {
  private static final float[][] KERNEL = {{0.5f, -1f}, {2f, -0.25f}, {0f, 3f}};
  private static final float[] BIAS = {0.1f, -0.2f};

  @Test
  void exportedSignatureHoldsThePenaltyAndReadsBackAsTheExportedRegularizer(@TempDir Path temp)
      throws Exception {
    Path modelDir = temp.resolve("my-model");
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x =
          tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 3)));
      Variable<TFloat32> kernel =
          tf.withName("kernel").variable(tf.withInitScope().constant(KERNEL));
      Variable<TFloat32> bias = tf.withName("bias").variable(tf.withInitScope().constant(BIAS));
      Operand<TFloat32> logits = tf.math.add(tf.linalg.matMul(x, kernel), bias);
      session.initialize();

      // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
      Signature regularization =
          RegularizedSavedModel.exporter(session, L1L2.builder().l1(1e-5).l2(1e-4).on("kernel").build())
              .variables(Map.of("dense/kernel", kernel, "dense/bias", bias))   // by name, any order you like
              .signature(Signature.builder().input("x", x).output("logits", logits).build())
              .exportTo(modelDir);                                              // must not exist yet
      // spotless:on

      assertEquals(RegularizationSignature.KEY, regularization.key());
    }

    double absSum = 0;
    double squareSum = 0;
    for (float[] row : KERNEL) {
      for (float w : row) {
        absSum += Math.abs(w);
        squareSum += (double) w * w;
      }
    }
    double expected = 1e-5 * absSum + 1e-4 * squareSum;
    try (SavedModelBundle bundle = SavedModelBundle.load(modelDir.toString(), "serve");
        Result result = bundle.function(RegularizationSignature.KEY).call(Map.of())) {
      Tensor penalty = result.get(RegularizationSignature.PENALTY).orElseThrow();
      assertEquals(
          expected, TestModels.values(penalty)[0], 1e-6 * expected, "only on(\"kernel\") counts");
    }

    // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
    L1L2 config;
    try (SavedModelBundle bundle = SavedModelBundle.load(modelDir.toString(), "serve")) {
      config = RegularizationSignature.readConfig(bundle);   // equals the exported L1L2
    }
    // spotless:on

    assertEquals(L1L2.builder().l1(1e-5).l2(1e-4).on("kernel").build(), config);
  }
}
