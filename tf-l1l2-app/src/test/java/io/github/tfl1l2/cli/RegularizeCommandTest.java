package io.github.tfl1l2.cli;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static io.github.tfl1l2.testing.References.l1Sum;
import static io.github.tfl1l2.testing.References.l2Sum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.savedmodel.Keras3SavedModelFixture;
import io.github.tfl1l2.savedmodel.TestModels;
import io.github.tfl1l2.savedmodel.Tf2LoaderRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

class RegularizeCommandTest {
  @TempDir Path temp;

  /** Runs a failing {@code regularize} and checks that it wrote nothing next to --out. */
  private CliRun failsWritingNothing(int exit, String... args) {
    List<String> before = TestModels.listing(temp);
    Map<String, String> example = TestModels.digest(EXAMPLE);
    CliRun run = CliRun.of(args);
    run.failedWith(exit);
    assertEquals(before, TestModels.listing(temp), "nothing written, not even a temporary");
    assertEquals(example, TestModels.digest(EXAMPLE), "the input is untouched");
    return run;
  }

  private Path copyOfExample(String name) throws IOException {
    Path copy = temp.resolve(name);
    Files.createDirectories(copy.resolve("variables"));
    for (String file :
        List.of(
            "saved_model.pb",
            "variables/variables.index",
            "variables/variables.data-00000-of-00001")) {
      Files.copy(EXAMPLE.resolve(file), copy.resolve(file));
    }
    return copy;
  }

  @Test
  void writesAModelWhoseRegularizationMatchesItsVariables() {
    Path out = temp.resolve("out");
    CliRun.of(
            "regularize",
            "--model",
            EXAMPLE.toString(),
            "--out",
            out.toString(),
            "--l1",
            "0.5",
            "--l2",
            "0.25",
            "--weight",
            "3",
            "--on",
            "bias")
        .succeeded();
    try (SavedModelBundle bundle = SavedModelBundle.load(out.toString(), "serve")) {
      Map<String, Object> outputs = TestModels.callRegularization(bundle);
      assertEquals(List.of("dense/bias", "dense_1/bias"), outputs.get("variable_names"));
      double[] perVariable = (double[]) outputs.get("per_variable");
      double penalty = 0;
      double l1Sum = 0;
      double l2Sum = 0;
      for (int i = 0; i < 2; i++) {
        double[] w =
            TestModels.values(bundle.session(), List.of("dense/bias", "dense_1/bias").get(i));
        assertClose(3 * (0.5 * l1Sum(w) + 0.25 * l2Sum(w)), perVariable[i], "per_variable " + i);
        penalty += 3 * (0.5 * l1Sum(w) + 0.25 * l2Sum(w));
        l1Sum += l1Sum(w);
        l2Sum += l2Sum(w);
      }
      assertClose(penalty, ((double[]) outputs.get("penalty"))[0], "penalty");
      assertClose(l1Sum, ((double[]) outputs.get("l1_sum"))[0], "l1_sum");
      assertClose(l2Sum, ((double[]) outputs.get("l2_sum"))[0], "l2_sum");
      assertArrayEquals(new double[] {0.5, 0.25, 3.0}, (double[]) outputs.get("coefficients"), 0.0);
    }
  }

  @Test
  void keepsEveryVariableValueAndSignatureOfTheInput() {
    Path out = temp.resolve("out");
    Map<String, String> inputBefore = TestModels.digest(EXAMPLE);
    CliRun.of("regularize", "--model", EXAMPLE.toString(), "--out", out.toString()).succeeded();
    assertEquals(inputBefore, TestModels.digest(EXAMPLE));
    try (SavedModelBundle before = SavedModelBundle.load(EXAMPLE.toString(), "serve");
        SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      assertEquals(
          before.metaGraphDef().getSignatureDefMap().keySet(),
          after.metaGraphDef().getSignatureDefMap().keySet());
      assertEquals(
          before.metaGraphDef().getSignatureDefOrThrow("serving_default"),
          after.metaGraphDef().getSignatureDefOrThrow("serving_default"));
      for (String name : List.of("dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias")) {
        assertArrayEquals(
            TestModels.bytes(before.session(), name),
            TestModels.bytes(after.session(), name),
            name);
      }
    }
  }

  @Test
  void replacesAnExistingRegularizationSignatureAndSaysSo() {
    Path out = temp.resolve("out");
    String stdout =
        CliRun.of(
                "regularize",
                "--model",
                EXAMPLE.toString(),
                "--out",
                out.toString(),
                "--l1",
                "0.125",
                "--l2",
                "0")
            .succeeded()
            .out();
    assertTrue(stdout.contains("regularization replaced"), stdout);
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      assertEquals(
          "tfl1l2/l1=0.125,l2=0.0,weight=1.0",
          after.metaGraphDef().getSignatureDefOrThrow("regularization").getMethodName());
    }
  }

  @Test
  void helpDescribesEveryOption() {
    String out = CliRun.of("regularize", "--help").succeeded().out();
    for (String option :
        List.of("--model", "--out", "--l1", "--l2", "--weight", "--on", "--all-variables")) {
      assertTrue(out.contains(option), option + " in " + out);
    }
  }

  @Test
  void kerasModelGetsARegularizationOverItsTrainableKernels() {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path out = temp.resolve("keras");
    CliRun.of("regularize", "--model", keras.toString(), "--out", out.toString(), "--on", "kernel")
        .succeeded();
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      Map<String, Object> outputs = TestModels.callRegularization(after);
      List<String> kernels =
          List.of(
              "conv2d/kernel",
              "conv2d_1/kernel",
              "conv2d_2/kernel",
              "dense/kernel",
              "dense_1/kernel");
      assertEquals(kernels, outputs.get("variable_names"));
      double l2Sum = 0;
      for (String kernel : kernels) {
        l2Sum += l2Sum(TestModels.values(after.session(), kernel));
      }
      assertClose(0.01 * l2Sum, ((double[]) outputs.get("penalty"))[0], "penalty");
      assertTrue(after.metaGraphDef().containsSignatureDef("serving_default"));
    }
  }

  @Test
  void keras3ExportGetsARegularizationOverEachTrainableKernelOnce() {
    // Each weight of a Keras 3 model.export() archive is tracked twice in its object graph.
    Path keras3 = TestModels.external("keras3_export_multihead_mlp");
    Path out = temp.resolve("keras3");
    CliRun.of(
            "regularize",
            "--model",
            keras3.toString(),
            "--out",
            out.toString(),
            "--on",
            "kernel",
            "--l1",
            "0.001")
        .succeeded();
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      Map<String, Object> outputs = TestModels.callRegularization(after);
      List<String> kernels =
          List.of(
              "classification_head/kernel_1",
              "dense/kernel_1",
              "dense_1/kernel_1",
              "dense_2/kernel_1",
              "regression_head/kernel_1");
      assertEquals(kernels, outputs.get("variable_names"));
      double l1 = 0;
      double l2 = 0;
      for (String kernel : kernels) {
        double[] w = TestModels.values(after.session(), kernel + "/Read/ReadVariableOp");
        l1 += l1Sum(w);
        l2 += l2Sum(w);
      }
      assertClose(0.001 * l1 + 0.01 * l2, ((double[]) outputs.get("penalty"))[0], "penalty");
    }
  }

  @Test
  void keras3SavedLayoutIsRestoredByTheObjectGraphAndItsCopyLoadsInTheCppLoader()
      throws IOException {
    // The C++ loader alone leaves this model's serving handles uninitialized.
    Path model = Keras3SavedModelFixture.create(temp.resolve("keras3-saved"));
    Path out = temp.resolve("keras3-saved-l2");
    CliRun.of("regularize", "--model", model.toString(), "--out", out.toString(), "--on", "kernel")
        .succeeded();
    try (SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      Map<String, Object> outputs = TestModels.callRegularization(after);
      List<String> kernels =
          List.of(
              "classification_head/kernel_1",
              "dense/kernel_1",
              "dense_1/kernel_1",
              "dense_2/kernel_1",
              "regression_head/kernel_1");
      assertEquals(kernels, outputs.get("variable_names"));
      double l2 = 0;
      for (String kernel : kernels) {
        l2 += l2Sum(TestModels.values(after.session(), kernel + "/Read/ReadVariableOp"));
      }
      assertClose(0.01 * l2, ((double[]) outputs.get("penalty"))[0], "penalty");
    }
    MetaGraphDef written =
        SavedModel.parseFrom(Files.readAllBytes(out.resolve("saved_model.pb"))).getMetaGraphs(0);
    assertEquals(
        List.of(),
        Tf2LoaderRules.violations(
            written, "regularization", Tf2LoaderRules.REGULARIZATION_OUTPUTS));
    // The values are the archive's the fixture was built from.
    Path source = TestModels.external(Keras3SavedModelFixture.SOURCE);
    try (SavedModelBundle original = SavedModelBundle.load(source.toString(), "serve");
        SavedModelBundle after = SavedModelBundle.load(out.toString(), "serve")) {
      assertArrayEquals(
          TestModels.values(original.session(), "dense/kernel_1/Read/ReadVariableOp"),
          TestModels.values(after.session(), "dense/kernel_1/Read/ReadVariableOp"));
    }
  }

  @Test
  void tf2ModelsRegularizedOnceAndTwiceListTheSignatureInTheirObjectGraph() throws IOException {
    for (String name :
        List.of("keras-mnist-cnn", "python-tf23-model", "keras3_export_multihead_mlp")) {
      Path model = TestModels.external(name);
      Path once = temp.resolve(name + "-once");
      Path twice = temp.resolve(name + "-twice");
      CliRun.of("regularize", "--model", model.toString(), "--out", once.toString()).succeeded();
      String stdout =
          CliRun.of(
                  "regularize",
                  "--model",
                  once.toString(),
                  "--out",
                  twice.toString(),
                  "--l1",
                  "0.5")
              .succeeded()
              .out();
      assertTrue(stdout.contains("(regularization replaced)"), stdout);
      int[] nodes = new int[3];
      List<Path> models = List.of(model, once, twice);
      for (int i = 0; i < models.size(); i++) {
        MetaGraphDef metaGraph =
            SavedModel.parseFrom(Files.readAllBytes(models.get(i).resolve("saved_model.pb")))
                .getMetaGraphs(0);
        nodes[i] = metaGraph.getObjectGraphDef().getNodesCount();
        if (i > 0) {
          assertEquals(
              List.of(),
              Tf2LoaderRules.violations(
                  metaGraph, "regularization", Tf2LoaderRules.REGULARIZATION_OUTPUTS),
              models.get(i).toString());
        }
      }
      assertEquals(nodes[0] + 1, nodes[1], name + ": the signature's node is appended");
      assertEquals(nodes[1], nodes[2], name + ": regularizing again adds no node");
    }
  }

  @Test
  void tf23ModelKeepsItsSignatures() {
    Path tf23 = TestModels.external("python-tf23-model");
    Path out = temp.resolve("tf23");
    String stdout =
        CliRun.of("regularize", "--model", tf23.toString(), "--out", out.toString())
            .succeeded()
            .out();
    assertTrue(
        stdout.contains(
            "add, get_const_matrix, get_const_scalar, get_const_vector, "
                + "get_variable, regularization (regularization added)"),
        stdout);
  }

  @Test
  void anExistingOutIsRefusedAndLeftAlone() throws IOException {
    Path out = Files.createDirectory(temp.resolve("out"));
    Files.writeString(out.resolve("mine.txt"), "keep");
    failsWritingNothing(2, "regularize", "--model", EXAMPLE.toString(), "--out", out.toString())
        .failedWith(2, "--out", "already exists");
    assertEquals(List.of("mine.txt"), TestModels.listing(out));
  }

  @Test
  void outEqualToModelIsRefused() throws IOException {
    Path copy = copyOfExample("model");
    Map<String, String> before = TestModels.digest(copy);
    failsWritingNothing(
            2,
            "regularize",
            "--model",
            copy.toString(),
            "--out",
            copy.resolve("..").resolve("model").toString())
        .failedWith(2, "--out", "is the --model directory");
    assertEquals(before, TestModels.digest(copy));
  }

  @Test
  void outInsideModelIsRefused() throws IOException {
    Path copy = copyOfExample("model");
    failsWritingNothing(
            2,
            "regularize",
            "--model",
            copy.toString(),
            "--out",
            copy.resolve("regularized").toString())
        .failedWith(2, "--out", "lies inside --model");
    assertEquals(List.of("saved_model.pb", "variables"), TestModels.listing(copy));
  }

  @Test
  void aMissingModelWritesNothing() {
    failsWritingNothing(
            1,
            "regularize",
            "--model",
            temp.resolve("missing").toString(),
            "--out",
            temp.resolve("out").toString())
        .failedWith(1, "--model", "no such directory");
  }

  @Test
  void aDirectoryThatIsNotASavedModelWritesNothing() throws IOException {
    Path notModel = Files.createDirectory(temp.resolve("not-a-model"));
    failsWritingNothing(
            1,
            "regularize",
            "--model",
            notModel.toString(),
            "--out",
            temp.resolve("out").toString())
        .failedWith(1, "--model", "is not a SavedModel");
  }

  @Test
  void aModelWithoutTheServeTagWritesNothing() throws IOException {
    Path copy = copyOfExample("train-only");
    Path pb = copy.resolve("saved_model.pb");
    var model = org.tensorflow.proto.SavedModel.parseFrom(Files.readAllBytes(pb));
    var meta = model.getMetaGraphs(0);
    Files.write(
        pb,
        model.toBuilder()
            .setMetaGraphs(
                0,
                meta.toBuilder()
                    .setMetaInfoDef(meta.getMetaInfoDef().toBuilder().clearTags().addTags("train")))
            .build()
            .toByteArray());
    failsWritingNothing(
            1, "regularize", "--model", copy.toString(), "--out", temp.resolve("out").toString())
        .failedWith(1, "--model", "no MetaGraphDef tagged \"serve\"");
  }

  @Test
  void aCorruptVariablesFileWritesNothing() throws IOException {
    Path copy = copyOfExample("corrupt");
    Files.write(copy.resolve("variables/variables.index"), new byte[] {1, 2, 3});
    failsWritingNothing(
            1, "regularize", "--model", copy.toString(), "--out", temp.resolve("out").toString())
        .failedWith(1, "--model", "TensorFlow cannot load it");
  }

  @Test
  void aPatternMatchingNoVariableWritesNothing() {
    failsWritingNothing(
            1,
            "regularize",
            "--model",
            EXAMPLE.toString(),
            "--out",
            temp.resolve("out").toString(),
            "--on",
            "gamma")
        .failedWith(1, "--on \"gamma\" matches none");
  }
}
