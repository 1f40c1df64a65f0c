package io.github.tfl1l2.cli;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Models and paths built to break the loader: wrong tags, symbolic link loops, FIFOs, unreadable
 * and missing entries, and graphs on which TensorFlow's native code aborts or hangs. Each ends with
 * one line naming {@code --model}, a non-zero exit and nothing written.
 */
class HostileInputTest {
  @TempDir Path temp;

  private Path copyOfExample(String name) throws IOException {
    Path copy = temp.resolve(name);
    Files.createDirectories(copy.resolve("variables"));
    for (String file : ModelMutator.FILES) {
      Files.copy(EXAMPLE.resolve(file), copy.resolve(file));
    }
    return copy;
  }

  /** Runs {@code regularize} in-process, expecting a failure that writes nothing. */
  private CliRun regularizeFails(Path model, String... fragments) {
    Map<String, String> before = TestModels.digest(model);
    List<String> listing = TestModels.listing(temp);
    CliRun run =
        assertTimeoutPreemptively(
            Duration.ofSeconds(60),
            () ->
                CliRun.of(
                    "regularize",
                    "--model",
                    model.toString(),
                    "--out",
                    temp.resolve("out").toString()));
    run.failedWith(1, fragments);
    assertEquals(listing, TestModels.listing(temp), "nothing written");
    assertEquals(before, TestModels.digest(model), "input unchanged");
    return run;
  }

  private static void rewriteGraph(
      Path model, String nodeName, java.util.function.UnaryOperator<AttrValue> change, String attr)
      throws IOException {
    Path pb = model.resolve("saved_model.pb");
    SavedModel saved = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef.Builder meta = saved.getMetaGraphs(0).toBuilder();
    NodeDef.Builder node =
        meta.getGraphDefBuilder().getNodeBuilderList().stream()
            .filter(n -> n.getName().equals(nodeName))
            .findFirst()
            .orElseThrow();
    node.putAttr(attr, change.apply(node.getAttrOrThrow(attr)));
    Files.write(pb, saved.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
  }

  private static TensorShapeProto shape(long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long dim : dims) {
      shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(dim));
    }
    return shape.build();
  }

  /**
   * A constant of rank 300, above TensorFlow's limit of 254 dimensions: its shape code CHECK-fails
   * (SIGABRT). (An element count that overflows would abort too, but is refused before loading.)
   */
  private Path abortingModel() throws IOException {
    Path model = copyOfExample("aborting");
    long[] ones = new long[300];
    java.util.Arrays.fill(ones, 1);
    rewriteGraph(
        model,
        "dense/Const_1",
        v -> v.toBuilder().setTensor(v.getTensor().toBuilder().setTensorShape(shape(ones))).build(),
        "value");
    return model;
  }

  /**
   * A string constant of 2^31 elements, the most a tensor attribute may declare before the loader's
   * own check refuses it: TensorFlow, filling it while it loads, takes far longer than any test can
   * wait.
   */
  private Path hangingModel() throws IOException {
    Path model = copyOfExample("hanging");
    rewriteGraph(
        model,
        "save/Const",
        v ->
            v.toBuilder()
                .setTensor(v.getTensor().toBuilder().setTensorShape(shape(1L << 31)))
                .build(),
        "value");
    return model;
  }

  /** The real command line, {@code java … Main …}, in a child process with its own cwd. */
  private record Launched(int exit, String out, String err, List<String> cwdFiles) {}

  private Launched launch(String... args) throws Exception {
    Path cwd = Files.createDirectories(temp.resolve("cwd"));
    List<String> command =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    Path out = temp.resolve("launched-stdout.txt");
    Path err = temp.resolve("launched-stderr.txt");
    Process process =
        new ProcessBuilder(command)
            .directory(cwd.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the command ended");
    return new Launched(
        process.exitValue(), Files.readString(out), Files.readString(err), TestModels.listing(cwd));
  }

  @Test
  void aWrongTagNamesTheTagSetsThatExist() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--tag", "train")
        .failedWith(1, "--model", "no MetaGraphDef tagged \"train\"", "[[serve]]");
  }

  @Test
  void tagSelectsTheMetaGraphDefToLoad() throws IOException {
    Path model = copyOfExample("train-only");
    Path pb = model.resolve("saved_model.pb");
    SavedModel saved = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef meta = saved.getMetaGraphs(0);
    Files.write(
        pb,
        saved.toBuilder()
            .setMetaGraphs(
                0,
                meta.toBuilder()
                    .setMetaInfoDef(meta.getMetaInfoDef().toBuilder().clearTags().addTags("train")))
            .build()
            .toByteArray());
    String out =
        CliRun.of("penalty", "--model", model.toString(), "--tag", "train").succeeded().out();
    assertTrue(out.contains("(tag train)"), out);
  }

  @Test
  void anEmptyTagOrTimeoutOutOfRangeIsAnOptionError() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--tag", "")
        .failedWith(2, "--tag must not be empty");
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--timeout", "0")
        .failedWith(2, "--timeout must be a whole number of seconds from 1 to 86400, but was 0");
  }

  @Test
  void aModelPathThatIsASymbolicLinkLoopIsRefused() throws IOException {
    Path loop = temp.resolve("loop");
    Files.createSymbolicLink(loop, loop.getFileName());
    CliRun.of("penalty", "--model", loop.toString())
        .failedWith(1, "--model " + loop, "symbolic link that leads nowhere");
  }

  @Test
  void aSymbolicLinkLoopInsideTheModelIsRefusedBeforeAnythingIsWritten() throws IOException {
    Path model = copyOfExample("looping");
    Files.createDirectory(model.resolve("assets"));
    Files.createSymbolicLink(model.resolve("assets/up"), Path.of(".."));
    regularizeFails(model, "--model", "assets/up is a symbolic link loop");
  }

  @Test
  void aDanglingVariablesLinkIsRefused() throws IOException {
    Path model = copyOfExample("dangling");
    Path index = model.resolve("variables/variables.index");
    Files.delete(index);
    Files.createSymbolicLink(index, Path.of("variables.index"));
    regularizeFails(
        model, "--model", "variables/variables.index is a symbolic link that leads " + "nowhere");
  }

  @Test
  void aFifoInPlaceOfTheIndexIsRefusedInsteadOfBlocking() throws Exception {
    Path model = copyOfExample("fifo");
    Path index = model.resolve("variables/variables.index");
    Files.delete(index);
    assertEquals(0, new ProcessBuilder("mkfifo", index.toString()).start().waitFor());
    regularizeFails(model, "--model", "variables/variables.index is not a regular file");
  }

  @Test
  void aModelDirectoryThatIsAFileIsRefused() throws IOException {
    Path file = Files.writeString(temp.resolve("model.txt"), "not a directory");
    regularizeFails(file, "--model", "is not a directory");
  }

  @Test
  void missingVariablesOfAGraphThatHasSomeAreRefused() throws IOException {
    Path model = copyOfExample("no-variables");
    Files.delete(model.resolve("variables/variables.index"));
    regularizeFails(
        model, "--model", "its graph has 4 variables but variables/variables.index is missing");
  }

  @Test
  void anUnreadableDirectoryIsRefused() throws IOException {
    // Root reads any directory whatever its mode, so this cannot be shown when run as root.
    assumeFalse("root".equals(System.getProperty("user.name")), "running as root");
    Path model = copyOfExample("unreadable");
    Files.setPosixFilePermissions(
        model.resolve("variables"), PosixFilePermissions.fromString("---------"));
    try {
      regularizeFails(model, "--model", "variables cannot be read");
    } finally {
      Files.setPosixFilePermissions(
          model.resolve("variables"), PosixFilePermissions.fromString("rwx------"));
    }
  }

  @Test
  void aModelThatAbortsTensorFlowEndsWithOneLineAndNoCrashDump() throws Exception {
    Path model = abortingModel();
    Path out = temp.resolve("out");
    Launched run = launch("regularize", "--model", model.toString(), "--out", out.toString());
    assertEquals(1, run.exit(), run.err());
    assertEquals("", run.out());
    List<String> lines = FuzzHarness.messageLines(run.err());
    assertEquals(1, lines.size(), run.err());
    assertTrue(lines.get(0).startsWith("tf-l1l2 regularize: --model " + model), lines.get(0));
    assertTrue(lines.get(0).contains("SIGABRT"), lines.get(0));
    assertTrue(lines.get(0).contains("Check failed"), lines.get(0));
    assertEquals(
        List.of("aborting", "cwd", "launched-stderr.txt", "launched-stdout.txt"),
        TestModels.listing(temp),
        "no --out, no temporary");
    assertEquals(List.of(), run.cwdFiles(), "no hs_err_pid*.log");
  }

  @Test
  void aModelThatHangsTensorFlowEndsAfterTheTimeout() throws Exception {
    Path model = hangingModel();
    long start = System.nanoTime();
    Launched run = launch("penalty", "--model", model.toString(), "--timeout", "3");
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    assertEquals(1, run.exit(), run.err());
    assertEquals("", run.out());
    assertEquals(
        List.of(
            "tf-l1l2 penalty: --model "
                + model
                + ": gave up after 3 s (--timeout): "
                + "TensorFlow did not finish loading or computing; the model may be corrupt"),
        FuzzHarness.messageLines(run.err()));
    assertTrue(seconds < 30, "ended after " + seconds + " s");
  }

  @Test
  void theSupervisedCommandPassesOnASuccessUnchanged() throws Exception {
    Launched run = launch("penalty", "--json", "--model", EXAMPLE.toAbsolutePath().toString());
    assertEquals(0, run.exit(), run.err());
    assertEquals(
        CliRun.of("penalty", "--json", "--model", EXAMPLE.toAbsolutePath().toString())
            .succeeded()
            .out(),
        run.out());
  }

  @Test
  void nativeFatalLinesAreSummarizedWithTheirSourceFile() {
    String stderr =
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            + "I0000 00:00:1795678545.725125   26269 mlir_graph_optimization_pass.cc:401] MLIR V1\n"
            + "2026-11-26 07:39:49.754195: F tensorflow/core/framework/tensor_shape.cc:419] Check failed: 0 <= n (0 vs. -1)\n"
            + "*** Check failure stack trace: ***\n";
    assertEquals(
        "Check failed: 0 <= n (0 vs. -1) at tensor_shape.cc:419", NativeLog.fatalMessage(stderr));
    assertEquals(2, NativeLog.logLines(stderr).size());
    assertEquals(null, NativeLog.fatalMessage("tf-l1l2 penalty: --model x: no such directory"));
  }
}
