package io.github.tfl1l2.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder for the {@code regularize} command, replaced by its implementation. */
@Command(name = "regularize", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class RegularizeCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("tf-l1l2 regularize: not implemented yet");
    return 2;
  }
}
