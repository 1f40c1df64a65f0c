package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MainTest {

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "demo,--steps",
    "penalty,--model",
    "regularize,--out",
    "bench,--bogus-option",
    "nosuch,--x"
  })
  void anOptionThatCannotBeParsedIsOneLineOnStderrWithExitStatus2(String command, String option) {
    CliRun run = CliRun.of(command, option).failedWith(2);
    assertTrue(run.err().startsWith("tf-l1l2"), run.err());
  }
}
