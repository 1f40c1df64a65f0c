package io.github.tfl1l2.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder for the {@code bench} command, replaced by its implementation. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class BenchCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("tf-l1l2 bench: not implemented yet");
    return 2;
  }
}
