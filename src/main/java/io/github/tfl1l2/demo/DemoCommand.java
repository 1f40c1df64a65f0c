package io.github.tfl1l2.demo;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder for the {@code demo} command, replaced by its implementation. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("tf-l1l2 demo: not implemented yet");
    return 2;
  }
}
