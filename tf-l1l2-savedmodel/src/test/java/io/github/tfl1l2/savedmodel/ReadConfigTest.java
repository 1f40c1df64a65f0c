package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;

/** {@link RegularizationSignature#readConfig}: the regularizer an export wrote, read back. */
class ReadConfigTest {
  @TempDir Path temp;

  /** Exports a one-variable graph regularized by {@code config} to {@code dir}. */
  private static void export(L1L2 config, Path dir) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      var kernel =
          tf.withSubScope("dense")
              .withName("kernel")
              .variable(tf.withInitScope().constant(new float[] {1f, -2f, 3f}));
      RegularizedSavedModel.exporter(session, config)
          .variables(Map.of("dense/kernel", kernel))
          .exportTo(dir);
    }
  }

  private L1L2 exportAndReadBack(L1L2 config) {
    Path dir = temp.resolve("model");
    export(config, dir);
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      return RegularizationSignature.readConfig(bundle);
    }
  }

  @Test
  void anExportedRegularizerReadsBackEqual() {
    L1L2 config = L1L2.builder().l1(1e-4).l2(0.003).weight(0.5).on("kernel").build();
    assertEquals(config, exportAndReadBack(config));
  }

  @Test
  void coefficientsWithoutAShortDecimalFormReadBackExactly() {
    // 0.1 + 0.2 and 1/3 have 17 significant digits: any rounding on the way would show.
    L1L2 config = L1L2.builder().l1(0.1 + 0.2).l2(1.0 / 3.0).weight(Math.PI).build();
    assertEquals(config, exportAndReadBack(config));
  }

  @Test
  void aSelectionWithCommasAndEqualsSignsReadsBackWhole() {
    L1L2 config = L1L2.builder().l2(1).on("(?:dense|conv){1,2}/ker,on=nel$").build();
    // The variable name must match for the export to select something.
    Path dir = temp.resolve("model");
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      var kernel = tf.withName("k").variable(tf.withInitScope().constant(new float[] {1f}));
      RegularizedSavedModel.exporter(session, config)
          .variables(Map.of("dense/ker,on=nel", kernel))
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      assertEquals(config, RegularizationSignature.readConfig(bundle));
    }
  }

  @Test
  void settingsTheSignatureDoesNotRecordReadBackAsTheDefaults() {
    L1L2 config = L1L2.builder().l1(0.5).xla(false).name("reg").build();
    L1L2 read = exportAndReadBack(config);
    assertEquals(L1L2.builder().l1(0.5).build(), read);
  }

  @Test
  void theShippedExampleReadsBackItsDocumentedRegularizer() {
    try (SavedModelBundle bundle = SavedModelBundle.load(TestModels.EXAMPLE.toString(), "serve")) {
      assertEquals(
          L1L2.builder().l1(0.001).l2(0.01).on("kernel").build(),
          RegularizationSignature.readConfig(bundle));
    }
  }

  @Test
  void aModelWithoutTheSignatureIsRefusedListingItsSignatures() throws IOException {
    Path dir = temp.resolve("plain");
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      SavedModelBundle.exporter(dir.toString())
          .withSession(session)
          .withSignature(Signature.builder().key("other").output("c", tf.constant(1f)).build())
          .export();
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      SavedModelException e =
          assertThrows(SavedModelException.class, () -> RegularizationSignature.readConfig(bundle));
      assertTrue(
          e.getMessage().contains("\"regularization\" signature is missing"), e.getMessage());
      assertTrue(e.getMessage().contains("[other]"), e.getMessage());
    }
  }

  @Test
  void aMethodNameThatDisagreesWithTheCoefficientsIsRefused() throws IOException {
    Path dir = temp.resolve("model");
    export(L1L2.of(0.25, 0.5), dir);
    Path pb = dir.resolve("saved_model.pb");
    SavedModel saved = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef meta = saved.getMetaGraphs(0);
    SignatureDef edited =
        meta.getSignatureDefOrThrow("regularization").toBuilder()
            .setMethodName("tfl1l2/l1=0.25,l2=0.75,weight=1.0")
            .build();
    Files.write(
        pb,
        saved.toBuilder()
            .setMetaGraphs(0, meta.toBuilder().putSignatureDef("regularization", edited))
            .build()
            .toByteArray());
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      SavedModelException e =
          assertThrows(SavedModelException.class, () -> RegularizationSignature.readConfig(bundle));
      assertTrue(e.getMessage().contains("l2=0.75 in its method name but 0.5"), e.getMessage());
    }
  }
}
