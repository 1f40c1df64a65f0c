package io.github.tfl1l2.cli;

import io.github.tfl1l2.bench.BenchCommand;
import io.github.tfl1l2.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tf-l1l2} command line: one subcommand per job. */
@Command(
    name = "tf-l1l2",
    mixinStandardHelpOptions = true,
    version = "tf-l1l2 0.1.0",
    description = "L1L2 weight regularization for TensorFlow-Java graphs and SavedModels.",
    subcommands = {
      DemoCommand.class,
      PenaltyCommand.class,
      RegularizeCommand.class,
      ExportExampleCommand.class,
      BenchCommand.class,
      ServerCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /**
   * Runs the command line and exits with its status. Commands that load a SavedModel run in a
   * child JVM that this one supervises (see the {@code --timeout} option), so that a model on
   * which TensorFlow's native code aborts or hangs still ends with one line on stderr.
   */
  public static void main(String[] args) {
    IsolatedCommand isolated =
        Boolean.getBoolean(IsolatedCommand.IN_PROCESS_PROPERTY) ? null : IsolatedCommand.of(args);
    System.exit(isolated == null ? run(args) : isolated.run(System.out, System.err));
  }

  /**
   * Runs the command line in this process and returns its exit status (0 on success). A model on
   * which TensorFlow's native code aborts ends this process; {@link #main} guards against that.
   */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /**
   * Returns the configured command line. A bad option or value is reported as one line on stderr
   * naming the command (its usage is one {@code --help} away) with exit status 2.
   */
  public static CommandLine commandLine() {
    return new CommandLine(new Main())
        .setParameterExceptionHandler(
            (problem, args) -> {
              CommandLine failed = problem.getCommandLine();
              failed.getErr().println(
                  failed.getCommandSpec().qualifiedName() + ": " + problem.getMessage()
                      + " (see --help)");
              failed.getErr().flush();
              return CommandLine.ExitCode.USAGE;
            });
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }
}
