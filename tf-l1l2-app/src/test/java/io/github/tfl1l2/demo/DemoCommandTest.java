package io.github.tfl1l2.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The {@code demo} command line: defaults, help, and one-line errors for bad options. */
class DemoCommandTest {

  @Test
  void noArgumentsGiveTheDocumentedDefaults() {
    DemoSettings settings = parse();
    assertEquals(0.2, settings.l1());
    assertEquals(0.05, settings.l2());
    assertEquals(5000, settings.steps());
    assertEquals(42, settings.seed());
    assertEquals(Path.of("target/demo"), settings.outputDirectory());
    assertEquals(Path.of("target/demo/savedmodel"), settings.exportDirectory());
    assertEquals(14, settings.pathPoints());
  }

  @Test
  void quickShortensTrainingAndThePathButAnExplicitStepCountWins() {
    assertEquals(3000, parse("--quick").steps());
    assertEquals(6, parse("--quick").pathPoints());
    assertEquals(777, parse("--quick", "--steps", "777").steps());
  }

  @Test
  void everyOptionIsHonoured() {
    DemoSettings settings =
        parse(
            "--l1",
            "0.5",
            "--l2",
            "0",
            "--steps",
            "100",
            "--seed",
            "-7",
            "--out",
            "a/b",
            "--export",
            "c");
    assertEquals(0.5, settings.l1());
    assertEquals(0.0, settings.l2());
    assertEquals(100, settings.steps());
    assertEquals(-7, settings.seed());
    assertEquals(Path.of("a/b"), settings.outputDirectory());
    assertEquals(Path.of("c"), settings.exportDirectory());
  }

  @Test
  void helpListsEveryOptionAndSucceeds() {
    Outcome outcome = runMain("demo", "--help");
    assertEquals(0, outcome.code());
    for (String option :
        new String[] {
          "--l1", "--l2", "--steps", "--seed", "--out", "--export", "--quick", "--dataset", "--json"
        }) {
      assertTrue(outcome.out().contains(option), option + " in\n" + outcome.out());
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "--bogus",
        "stray",
        "--l1=-1",
        "--l2=NaN",
        "--l1=Infinity",
        "--l1=abc",
        "--steps=0",
        "--steps=1.5",
        "--seed=x",
        "--out=",
        "--dataset=iris",
        "--json=path.json"
      })
  void aBadOptionGetsOneLineOnStandardErrorAndExitStatusTwo(String argument) {
    Outcome outcome = runMain("demo", argument);
    assertEquals(2, outcome.code(), outcome.err());
    assertEquals(1, outcome.err().lines().count(), "one line, not:\n" + outcome.err());
    assertTrue(outcome.err().startsWith("tf-l1l2 demo: "), outcome.err());
    assertEquals("", outcome.out(), "nothing trained, nothing printed");
  }

  @Test
  void theErrorNamesTheOptionAndTheValue() {
    assertTrue(
        runMain("demo", "--steps", "abc")
            .err()
            .contains("--steps must be an integer," + " but was 'abc'"));
    assertTrue(runMain("demo", "--bogus").err().contains("unknown option '--bogus'"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"--l1=0.3", "--l2=0.1", "--steps=100", "--seed=3", "--export=x", "--quick"})
  void syntheticOnlyOptionsAreRejectedWithTheDiabetesDataset(String argument) {
    Outcome outcome = runMain("demo", "--dataset", "diabetes", argument);
    assertEquals(2, outcome.code(), outcome.err());
    assertEquals(1, outcome.err().lines().count(), outcome.err());
    assertTrue(outcome.err().contains("applies to --dataset synthetic only"), outcome.err());
    assertEquals("", outcome.out());
  }

  @Test
  void theDatasetDefaultsToTheSyntheticProblem() {
    DemoCommand command = new DemoCommand();
    new CommandLine(command).parseArgs();
    assertEquals(false, command.isDiabetes());
    new CommandLine(command).parseArgs("--dataset", "diabetes", "--json", "p.json");
    assertEquals(true, command.isDiabetes());
    assertEquals(Path.of("p.json"), command.diabetesOptions().json());
    assertEquals(Path.of("target/demo"), command.diabetesOptions().outputDirectory());
  }

  private static DemoSettings parse(String... args) {
    DemoCommand command = new DemoCommand();
    new CommandLine(command).parseArgs(args);
    return command.settings();
  }

  private record Outcome(int code, String out, String err) {}

  /** Runs the real entry point with standard output and error captured. */
  private static Outcome runMain(String... args) {
    PrintStream originalOut = System.out;
    PrintStream originalErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.run(args);
      return new Outcome(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(originalOut);
      System.setErr(originalErr);
    }
  }
}
