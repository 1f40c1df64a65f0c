package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static io.github.tfl1l2.testing.References.l1Sum;
import static io.github.tfl1l2.testing.References.l2Sum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.VariableDef;
import org.tensorflow.types.TFloat32;

class LoadedSavedModelTest {
  @TempDir Path temp;

  /** A writable copy of the example, to damage or edit. */
  private Path copyOfExample() throws IOException {
    Path copy = temp.resolve("copy");
    try (Stream<Path> paths = Files.walk(EXAMPLE)) {
      for (Path path : paths.toList()) {
        Path target = copy.resolve(EXAMPLE.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.write(target, Files.readAllBytes(path));
        }
      }
    }
    return copy;
  }

  private static SavedModelException openFails(Path dir) {
    return assertThrows(SavedModelException.class, () -> LoadedSavedModel.open(dir).close());
  }

  private static void assertOneLine(SavedModelException e, String... fragments) {
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should say " + fragment);
    }
  }

  @Test
  void aMissingDirectoryIsNamed() {
    Path missing = temp.resolve("nope");
    assertOneLine(openFails(missing), missing.toString(), "no such directory");
  }

  @Test
  void aFileIsNotADirectory() throws IOException {
    Path file = Files.writeString(temp.resolve("file"), "x");
    assertOneLine(openFails(file), "is not a directory");
  }

  @Test
  void aDirectoryWithoutSavedModelPbIsNotASavedModel() throws IOException {
    Path dir = Files.createDirectory(temp.resolve("empty"));
    assertOneLine(openFails(dir), "is not a SavedModel", "saved_model.pb");
  }

  @Test
  void anUnparsableSavedModelPbIsNotASavedModel() throws IOException {
    Path dir = Files.createDirectory(temp.resolve("garbage"));
    Files.write(dir.resolve("saved_model.pb"), new byte[] {(byte) 0xff, 0x07, 0x13, 0x00, 0x42});
    assertOneLine(openFails(dir), "is not a SavedModel", "saved_model.pb");
  }

  @Test
  void aModelWithoutTheServeTagIsRefusedListingItsTags() throws IOException {
    Path dir = temp.resolve("train-only");
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      SavedModelBundle.exporter(dir.toString())
          .withTags("train")
          .withSession(s)
          .withSignature(Signature.builder().output("c", tf.constant(1f)).build())
          .export();
    }
    assertOneLine(openFails(dir), "no MetaGraphDef tagged \"serve\"", "[[train]]");
  }

  @Test
  void aCorruptVariablesFileIsReportedByTensorFlowsReason() throws IOException {
    Path copy = copyOfExample();
    Path data = copy.resolve("variables/variables.data-00000-of-00001");
    byte[] bytes = Files.readAllBytes(data);
    bytes[bytes.length / 2] ^= (byte) 0xff;
    Files.write(data, bytes);
    assertOneLine(openFails(copy), "TensorFlow cannot load it", "Checksum does not match");
  }

  @Test
  void aTf1StyleExportWithoutFlagsCountsEveryVariableAsTrainable() {
    try (LoadedSavedModel model = LoadedSavedModel.open(EXAMPLE)) {
      assertEquals(TrainableSource.ALL_ASSUMED_TRAINABLE, model.trainableSource());
      assertEquals(
          List.of("dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"),
          model.variables().stream().map(ModelVariable::name).toList());
      assertTrue(model.variables().stream().allMatch(ModelVariable::trainable));
      assertEquals(List.of(4L, 8L), model.variables().get(1).shape());
      assertEquals("VariableV2", model.variables().get(1).opType());
    }
  }

  @Test
  void theTrainableVariablesCollectionDecidesWhenPresent() throws IOException {
    Path copy = copyOfExample();
    Path pb = copy.resolve("saved_model.pb");
    SavedModel original = SavedModel.parseFrom(Files.readAllBytes(pb));
    CollectionDef trainable =
        CollectionDef.newBuilder()
            .setBytesList(
                CollectionDef.BytesList.newBuilder()
                    .addValue(
                        VariableDef.newBuilder()
                            .setVariableName("dense_1/kernel:0")
                            .setTrainable(true)
                            .build()
                            .toByteString()))
            .build();
    MetaGraphDef edited =
        original.getMetaGraphs(0).toBuilder()
            .putCollectionDef("trainable_variables", trainable)
            .build();
    Files.write(pb, original.toBuilder().setMetaGraphs(0, edited).build().toByteArray());
    try (LoadedSavedModel model = LoadedSavedModel.open(copy)) {
      assertEquals(TrainableSource.TRAINABLE_VARIABLES_COLLECTION, model.trainableSource());
      assertEquals(
          List.of("dense_1/kernel"),
          model.variables().stream()
              .filter(ModelVariable::trainable)
              .map(ModelVariable::name)
              .toList());
    }
  }

  @Test
  void kerasTrainableFlagsComeFromTheObjectGraph() {
    Path keras = TestModels.external("keras-mnist-cnn");
    try (LoadedSavedModel model = LoadedSavedModel.open(keras)) {
      assertEquals(TrainableSource.OBJECT_GRAPH, model.trainableSource());
      assertEquals(63, model.variables().size());
      List<String> expected = new ArrayList<>();
      for (String conv : List.of("conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1")) {
        expected.add(conv + "/bias");
        expected.add(conv + "/kernel");
      }
      for (String bn :
          List.of("batch_normalization", "batch_normalization_1", "batch_normalization_2")) {
        expected.add(bn + "/beta");
        expected.add(bn + "/gamma");
      }
      assertEquals(
          expected.stream().sorted().toList(),
          model.variables().stream()
              .filter(ModelVariable::trainable)
              .map(ModelVariable::name)
              .toList());
    }
  }

  @Test
  void kerasReExportKeepsEveryVariableValueSignatureAndFile() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Map<String, String> inputBefore = TestModels.digest(keras);
    Path out = temp.resolve("keras-regularized");
    L1L2 config = L1L2.builder().l2(0.01).on("kernel").build();
    try (LoadedSavedModel model = LoadedSavedModel.open(keras)) {
      model.exportRegularized(config, model.select(config, false), out);
    }
    assertEquals(inputBefore, TestModels.digest(keras), "the input is only read");
    assertArrayEquals(
        Files.readAllBytes(keras.resolve("keras_metadata.pb")),
        Files.readAllBytes(out.resolve("keras_metadata.pb")));
    float[] image = new float[28 * 28];
    for (int i = 0; i < image.length; i++) {
      image[i] = (i * 37 % 255) / 255f;
    }
    try (SavedModelBundle before = SavedModelBundle.load(keras.toString(), "serve");
        SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      MetaGraphDef b = before.metaGraphDef();
      MetaGraphDef a = after.metaGraphDef();
      // The object graph only gains the regularization signature (ObjectGraphSignatureTest).
      assertEquals(
          b.getObjectGraphDef().getNodesCount() + 1, a.getObjectGraphDef().getNodesCount());
      b.getObjectGraphDef()
          .getConcreteFunctionsMap()
          .forEach(
              (name, entry) ->
                  assertEquals(
                      entry, a.getObjectGraphDef().getConcreteFunctionsOrThrow(name), name));
      assertTrue(a.getSignatureDefMap().keySet().containsAll(b.getSignatureDefMap().keySet()));
      assertTrue(a.containsSignatureDef("regularization"));
      for (var node : b.getGraphDef().getNodeList()) {
        if (node.getOp().equals("VarHandleOp")) {
          assertArrayEquals(
              TestModels.bytes(before.session(), node.getName()),
              TestModels.bytes(after.session(), node.getName()),
              node.getName());
        }
      }
      try (TFloat32 x1 =
              TFloat32.tensorOf(Shape.of(1, 28, 28, 1), DataBuffers.of(image, true, false));
          var r1 = before.function("serving_default").call(Map.of("conv2d_input", x1));
          var r2 = after.function("serving_default").call(Map.of("conv2d_input", x1))) {
        assertArrayEquals(
            TestModels.values(r1.get("dense_1").orElseThrow()),
            TestModels.values(r2.get("dense_1").orElseThrow()),
            0.0);
      }
      double l2Sum = 0;
      for (String kernel :
          List.of(
              "conv2d/kernel",
              "conv2d_1/kernel",
              "conv2d_2/kernel",
              "dense/kernel",
              "dense_1/kernel")) {
        l2Sum += l2Sum(TestModels.values(before.session(), kernel));
      }
      Map<String, Object> regularization = TestModels.callRegularization(after);
      assertClose(l2Sum, ((double[]) regularization.get("l2_sum"))[0], "l2_sum");
      assertClose(0.01 * l2Sum, ((double[]) regularization.get("penalty"))[0], "penalty");
    }
  }

  @Test
  void tf23ModelReExportKeepsItsFiveSignaturesWorking() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    Path out = temp.resolve("tf23-regularized");
    L1L2 config = L1L2.of(0.5, 0.25);
    try (LoadedSavedModel model = LoadedSavedModel.open(tf23)) {
      assertEquals(
          List.of("Variable"),
          model.select(config, false).stream().map(ModelVariable::name).toList());
      model.exportRegularized(config, model.select(config, false), out);
    }
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      assertTrue(
          after
              .metaGraphDef()
              .getSignatureDefMap()
              .keySet()
              .containsAll(
                  List.of(
                      "get_variable",
                      "add",
                      "get_const_scalar",
                      "get_const_vector",
                      "get_const_matrix",
                      "regularization")));
      try (TFloat32 dummy = TFloat32.scalarOf(0f);
          var result = after.function("get_variable").call(Map.of("dummy", dummy))) {
        assertArrayEquals(
            new double[] {2.0}, TestModels.values(result.get("output_0").orElseThrow()), 0.0);
      }
      // One scalar variable of value 2: 0.5 * |2| + 0.25 * 2^2.
      assertArrayEquals(
          new double[] {2.0}, (double[]) TestModels.callRegularization(after).get("penalty"), 0.0);
    }
  }

  @Test
  void reExportingASavedModelWithSeveralMetaGraphsIsRefused() throws IOException {
    Path copy = copyOfExample();
    Path pb = copy.resolve("saved_model.pb");
    SavedModel original = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef train =
        original.getMetaGraphs(0).toBuilder()
            .setMetaInfoDef(
                original.getMetaGraphs(0).getMetaInfoDef().toBuilder().clearTags().addTags("train"))
            .build();
    Files.write(pb, original.toBuilder().addMetaGraphs(train).build().toByteArray());
    Path out = temp.resolve("out");
    try (LoadedSavedModel model = LoadedSavedModel.open(copy)) {
      L1L2 config = L1L2.of(0, 1);
      SavedModelException e =
          assertThrows(
              SavedModelException.class,
              () -> model.exportRegularized(config, model.select(config, false), out));
      assertOneLine(e, "2 MetaGraphDefs");
    }
    assertFalse(Files.exists(out));
  }

  @Test
  void reExportIntoAnExistingDirectoryIsRefused() throws IOException {
    Path out = Files.createDirectory(temp.resolve("out"));
    try (LoadedSavedModel model = LoadedSavedModel.open(EXAMPLE)) {
      L1L2 config = L1L2.of(0, 1);
      assertOneLine(
          assertThrows(
              SavedModelException.class,
              () -> model.exportRegularized(config, model.select(config, false), out)),
          "already exists");
    }
    assertEquals(List.of(), TestModels.listing(out));
    assertEquals(List.of("out"), TestModels.listing(temp));
  }

  @Test
  void reExportReportsWhatTheWrittenSignatureComputes() {
    Path out = temp.resolve("out");
    L1L2 config = L1L2.builder().l1(0.2).l2(0.3).weight(2.0).on("kernel").build();
    PenaltyReport report;
    double expected = 0;
    try (LoadedSavedModel model = LoadedSavedModel.open(EXAMPLE)) {
      report = model.exportRegularized(config, model.select(config, false), out);
      for (String kernel : List.of("dense/kernel", "dense_1/kernel")) {
        double[] w = TestModels.values(model.bundle().session(), kernel);
        expected += 2.0 * (0.2 * l1Sum(w) + 0.3 * l2Sum(w));
      }
    }
    assertEquals(
        List.of("dense/kernel", "dense_1/kernel"),
        report.variables().stream().map(r -> r.variable().name()).toList());
    assertClose(expected, report.penalty(), "reported penalty");
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      Map<String, Object> written = TestModels.callRegularization(after);
      assertEquals(report.penalty(), ((double[]) written.get("penalty"))[0], "penalty");
      assertEquals(report.l1Sum(), ((double[]) written.get("l1_sum"))[0], "l1_sum");
      assertEquals(report.l2Sum(), ((double[]) written.get("l2_sum"))[0], "l2_sum");
    }
  }

  @Test
  void penaltyReportRowsMatchTheVariablesRecomputedInDoublePrecision() {
    L1L2 config = L1L2.builder().l1(0.2).l2(0.3).weight(2.0).build();
    try (LoadedSavedModel model = LoadedSavedModel.open(EXAMPLE)) {
      PenaltyReport report = model.penalty(config, model.select(config, false));
      assertEquals(4, report.variables().size());
      double total = 0;
      for (PenaltyReport.VariablePenalty row : report.variables()) {
        double[] w = TestModels.values(model.bundle().session(), row.variable().name());
        assertClose(l1Sum(w), row.l1Sum(), row.variable().name() + " l1");
        assertClose(l2Sum(w), row.l2Sum(), row.variable().name() + " l2");
        assertClose(2.0 * (0.2 * l1Sum(w) + 0.3 * l2Sum(w)), row.penalty(), row.variable().name());
        total += 2.0 * (0.2 * l1Sum(w) + 0.3 * l2Sum(w));
      }
      assertClose(total, report.penalty(), "penalty");
    }
  }
}
