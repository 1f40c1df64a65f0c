package io.github.tfl1l2.cli;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real command line ({@code java … Main}, as {@code bin/tf-l1l2} runs it) prints only its own
 * output: TensorFlow's native log, absl's included, stays off stderr unless asked for.
 */
class CleanOutputTest {
  private static final String ABSL_PREAMBLE =
      "WARNING: All log messages before absl::InitializeLog()";

  @TempDir Path temp;

  private record Launched(int exit, String out, String err) {}

  /** Runs the command line in a fresh JVM whose environment has {@code environment} on top. */
  private Launched launch(Map<String, String> environment, String... args) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    Path out = temp.resolve("stdout.txt");
    Path err = temp.resolve("stderr.txt");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    // The tests' own environment sets it (pom.xml); a user's shell usually does not.
    builder.environment().remove("TF_CPP_MIN_LOG_LEVEL");
    builder.environment().putAll(environment);
    Process process = builder.start();
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the command ended");
    return new Launched(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static boolean hasNativeLog(String stderr) {
    return stderr.lines().anyMatch(NativeLog::isLogLine);
  }

  @Test
  void penaltyPrintsNothingOnStderr() throws Exception {
    Launched run = launch(Map.of(), "penalty", "--model", EXAMPLE.toAbsolutePath().toString());
    assertEquals(0, run.exit(), run.err());
    assertEquals("", run.err());
    assertTrue(run.out().startsWith("model "), run.out());
  }

  @Test
  void exportExampleInAChildWithoutSupervisionPrintsNothingOnStderr() throws Exception {
    Path out = temp.resolve("example");
    Launched run = launch(Map.of(), "export-example", "--out", out.toString());
    assertEquals(0, run.exit(), run.err());
    assertEquals("", run.err());
    assertEquals("wrote " + out + "\n", run.out());
  }

  @Test
  void aFailureIsTheCommandsOneLineWithoutTensorFlowsErrorLog() throws Exception {
    Path model = temp.resolve("corrupt");
    Files.createDirectories(model.resolve("variables"));
    for (String file : ModelMutator.FILES) {
      Files.copy(EXAMPLE.resolve(file), model.resolve(file));
    }
    Path data = model.resolve("variables/variables.data-00000-of-00001");
    byte[] bytes = Files.readAllBytes(data);
    bytes[bytes.length / 2] ^= (byte) 0xff;
    Files.write(data, bytes);
    Launched run = launch(Map.of(), "penalty", "--model", model.toString());
    assertEquals(1, run.exit(), run.err());
    assertEquals(1, run.err().lines().count(), run.err());
    assertTrue(
        run.err().startsWith("tf-l1l2 penalty: --model " + model + ": TensorFlow cannot load it"),
        run.err());
  }

  @Test
  void verboseShowsTensorFlowsNativeLog() throws Exception {
    Launched run =
        launch(Map.of(), "penalty", "--verbose", "--model", EXAMPLE.toAbsolutePath().toString());
    assertEquals(0, run.exit(), run.err());
    assertTrue(hasNativeLog(run.err()), run.err());
    assertTrue(run.err().contains("Reading SavedModel from"), run.err());
  }

  @Test
  void aLogLevelOfTheUsersOwnShowsTheAbslLog() throws Exception {
    Launched run =
        launch(
            Map.of("TF_CPP_MIN_LOG_LEVEL", "2"),
            "penalty",
            "--model",
            EXAMPLE.toAbsolutePath().toString());
    assertEquals(0, run.exit(), run.err());
    assertTrue(run.err().contains(ABSL_PREAMBLE), run.err());
  }

  @Test
  void theFilterDropsContinuationLinesAndKeepsTheCommandsLine() {
    String stderr =
        "2026-11-26 15:57:59.703645: I tensorflow/core/platform/cpu_feature_guard.cc:210]"
            + " This TensorFlow binary is optimized\n"
            + "To enable the following instructions: AVX2 FMA, in other operations, rebuild\n"
            + ABSL_PREAMBLE
            + " is called are written to STDERR\n"
            + "I0000 00:00:1795708679.706547   24878 mlir_graph_optimization_pass.cc:401] MLIR V1\n"
            + "tf-l1l2 penalty: --model m: TensorFlow cannot compute the penalty: x\n";
    assertEquals(
        "tf-l1l2 penalty: --model m: TensorFlow cannot compute the penalty: x\n",
        NativeLog.withoutNativeLog(stderr));
    assertEquals(
        List.of("tf-l1l2 penalty: --model m: TensorFlow cannot compute the penalty: x"),
        NativeLog.commandLines(stderr));
  }
}
