package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.types.TFloat32;

/** {@link TrainableSavedModel#exportTo} on the Keras CNN. */
class TrainableSavedModelExportTest {
  @TempDir Path temp;

  private static MetaGraphDef metaGraph(Path dir) throws IOException {
    return SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb"))).getMetaGraphs(0);
  }

  private static Operand<?> handle(TrainableSavedModel model, String name) {
    for (Operand<?> handle : model.trainableVariables()) {
      if (handle.op().name().equals(name)) {
        return handle;
      }
    }
    throw new AssertionError(name + " is not trainable");
  }

  /**
   * Scales the last kernel by 0.05 (random images give near one-hot probabilities; smaller logits
   * spread them), adds 0.3·k to class k's bias (a shift the same for all classes would not change
   * the softmax) and scales the first kernel by 1.5, in the session.
   */
  private static void changeSomeVariables(TrainableSavedModel model) {
    Ops tf = Ops.create(model.graph());
    Operand<?> bias = handle(model, "dense_1/bias");
    Operand<?> kernel = handle(model, "conv2d/kernel");
    Operand<?> last = handle(model, "dense_1/kernel");
    model
        .session()
        .runner()
        .addTarget(
            tf.assignVariableOp(
                last, tf.math.mul(tf.readVariableOp(last, TFloat32.class), tf.constant(0.05f))))
        .addTarget(
            tf.assignVariableOp(
                bias,
                tf.math.add(
                    tf.readVariableOp(bias, TFloat32.class),
                    tf.constant(
                        new float[] {0f, 0.3f, 0.6f, 0.9f, 1.2f, 1.5f, 1.8f, 2.1f, 2.4f, 2.7f}))))
        .addTarget(
            tf.assignVariableOp(
                kernel, tf.math.mul(tf.readVariableOp(kernel, TFloat32.class), tf.constant(1.5f))))
        .run();
  }

  private static double[] inlinedOutputs(TrainableSavedModel model, float[] pixels) {
    try (TFloat32 x = KerasCnn.tensor(pixels);
        Result r =
            model
                .session()
                .runner()
                .feed(model.input(KerasCnn.INPUT), x)
                .fetch(model.output(KerasCnn.OUTPUT, TFloat32.class))
                .run()) {
      return TestModels.values(r.get(0));
    }
  }

  @Test
  void theReloadedServingDefaultGivesTheOutputsOfTheAssignedValues() {
    Path dir = KerasCnn.directory();
    Path out = temp.resolve("tuned");
    float[] pixels = KerasCnn.images(8, 4);
    double[] before;
    double[] changed;
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      before = inlinedOutputs(model, pixels);
      changeSomeVariables(model);
      changed = inlinedOutputs(model, pixels);
      model.exportTo(out);
    }
    double largestChange = 0;
    for (int i = 0; i < before.length; i++) {
      largestChange = Math.max(largestChange, Math.abs(changed[i] - before[i]));
    }
    assertTrue(largestChange > 1e-2, "the assignment changes the outputs: " + largestChange);
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      double[] served = KerasCnn.serve(reloaded, pixels);
      for (int i = 0; i < served.length; i++) {
        assertEquals(changed[i], served[i], 1e-6, "probability " + i);
      }
    }
  }

  @Test
  void theExportedMetaGraphIsTheOneThatWasReadWithEverySignature() throws IOException {
    Path dir = KerasCnn.directory();
    Path out = temp.resolve("copy");
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      changeSomeVariables(model);
      model.exportTo(out);
    }
    assertEquals(metaGraph(dir), metaGraph(out));
    assertTrue(Files.isRegularFile(out.resolve("keras_metadata.pb")));
    assertTrue(Files.isRegularFile(out.resolve("variables/variables.index")));
  }

  @Test
  void theMovingStatisticsAndOptimizerSlotsAreExportedUnchanged() {
    Path dir = KerasCnn.directory();
    Path out = temp.resolve("copy");
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      changeSomeVariables(model);
      model.exportTo(out);
    }
    try (SavedModelBundle original = SavedModelBundle.load(dir.toString(), "serve");
        SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      for (String name :
          List.of(
              "batch_normalization/moving_mean",
              "batch_normalization_2/moving_variance",
              "Adam/dense/kernel/m",
              "dense/kernel")) {
        String read = name + "/Read/ReadVariableOp";
        assertTrue(
            Arrays.equals(
                TestModels.bytes(original.session(), read),
                TestModels.bytes(reloaded.session(), read)),
            name);
      }
      assertFalse(
          Arrays.equals(
              TestModels.bytes(original.session(), "conv2d/kernel/Read/ReadVariableOp"),
              TestModels.bytes(reloaded.session(), "conv2d/kernel/Read/ReadVariableOp")));
    }
  }

  @Test
  void aRegularizerAddsARegularizationSignatureWhosePenaltyIsRecomputedFromTheValues()
      throws IOException {
    Path dir = KerasCnn.directory();
    Path out = temp.resolve("regularized");
    double l1 = 1e-3;
    double l2 = 1e-2;
    L1L2 reg = L1L2.builder().l1(l1).l2(l2).on("kernel").build();
    PenaltyReport report;
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      changeSomeVariables(model);
      report = model.exportTo(out, reg);
    }
    List<String> kernels = new ArrayList<>();
    for (String name : KerasCnn.TRAINABLE) {
      if (name.endsWith("kernel")) {
        kernels.add(name);
      }
    }
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      double l1Sum = 0;
      double l2Sum = 0;
      for (String kernel : kernels) {
        double[] w = TestModels.values(reloaded.session(), kernel + "/Read/ReadVariableOp");
        l1Sum += References.l1Sum(w);
        l2Sum += References.l2Sum(w);
      }
      Map<String, Object> outputs = TestModels.callRegularization(reloaded);
      assertEquals(kernels, outputs.get("variable_names"));
      assertClose(l1Sum, ((double[]) outputs.get("l1_sum"))[0], "l1_sum");
      assertClose(l2Sum, ((double[]) outputs.get("l2_sum"))[0], "l2_sum");
      double penalty = l1 * l1Sum + l2 * l2Sum;
      assertClose(penalty, ((double[]) outputs.get("penalty"))[0], "penalty");
      assertClose(penalty, report.penalty(), "reported penalty");
    }
    MetaGraphDef read = metaGraph(dir);
    MetaGraphDef written = metaGraph(out);
    assertEquals(
        read.getSignatureDefOrThrow("serving_default"),
        written.getSignatureDefOrThrow("serving_default"));
    assertEquals(
        Set.of("serving_default", "__saved_model_init_op", "regularization"),
        written.getSignatureDefMap().keySet());
    assertEquals(
        List.of(),
        Tf2LoaderRules.violations(
            written, "regularization", Tf2LoaderRules.REGULARIZATION_OUTPUTS));
  }

  @Test
  void anExistingDirectoryIsRefusedAndLeftAsItWas() throws IOException {
    Path out = Files.createDirectory(temp.resolve("taken"));
    Files.writeString(out.resolve("keep.txt"), "mine");
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      SavedModelException plain =
          assertThrows(SavedModelException.class, () -> model.exportTo(out));
      assertTrue(plain.getMessage().contains("already exists"), plain.getMessage());
      SavedModelException regularized =
          assertThrows(SavedModelException.class, () -> model.exportTo(out, L1L2.of(0, 0.01)));
      assertTrue(regularized.getMessage().contains("already exists"), regularized.getMessage());
    }
    assertEquals(List.of("keep.txt"), TestModels.listing(out));
    assertEquals(List.of("taken"), TestModels.listing(temp));
  }

  @Test
  void aRegularizerThatSelectsNoTrainableVariableIsRefusedAndNothingIsWritten() {
    Path out = temp.resolve("nothing");
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> model.exportTo(out, L1L2.builder().l2(1).on("moving_mean").build()));
      assertTrue(e.getMessage().contains("moving_mean"), e.getMessage());
    }
    assertEquals(List.of(), TestModels.listing(temp));
  }
}
