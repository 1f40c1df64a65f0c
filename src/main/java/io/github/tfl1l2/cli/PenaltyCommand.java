package io.github.tfl1l2.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder for the {@code penalty} command, replaced by its implementation. */
@Command(name = "penalty", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class PenaltyCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("tf-l1l2 penalty: not implemented yet");
    return 2;
  }
}
