package io.github.tfl1l2.cli;

import io.github.tfl1l2.bench.BenchCommand;
import io.github.tfl1l2.demo.DemoCommand;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

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

  @Option(
      names = "--verbose",
      scope = ScopeType.INHERIT,
      description =
          "Also show TensorFlow's native log on stderr (hidden by default, as it is when "
              + "TF_CPP_MIN_LOG_LEVEL is not set).")
  boolean verbose;

  /**
   * Runs the command line and exits with its status. A command that loads TensorFlow runs in a
   * child JVM, so that TensorFlow's native log can be kept off the terminal (see {@code
   * --verbose}); commands that load a SavedModel are supervised there too (see the {@code
   * --timeout} option), so that a model on which TensorFlow's native code aborts or hangs still
   * ends with one line on stderr.
   */
  public static void main(String[] args) {
    System.exit(Boolean.getBoolean(ChildJvm.IN_PROCESS_PROPERTY) ? run(args) : runInChild(args));
  }

  /** Runs {@code args} in a child JVM, or here when they name no command that loads TensorFlow. */
  private static int runInChild(String... args) {
    ParseResult parsed;
    try {
      parsed = new CommandLine(new Main()).parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      return run(args); // reports the usage error, loading nothing
    }
    if (!parsed.hasSubcommand()
        || parsed.isUsageHelpRequested()
        || parsed.isVersionHelpRequested()
        || parsed.subcommand().isUsageHelpRequested()
        || parsed.subcommand().isVersionHelpRequested()
        || parsed.subcommand().commandSpec().userObject() instanceof CommandLine.HelpCommand
        || parsed.subcommand().commandSpec().userObject() instanceof ServerCommand) {
      // A server task runs here: a signal or a kill must reach the task itself, not a parent
      // that would leave it orphaned and listening. Its stderr is the task's log, TensorFlow's
      // lines included.
      return run(args);
    }
    ParseResult subcommand = parsed.subcommand();
    boolean verbose =
        parsed.hasMatchedOption("--verbose") || subcommand.hasMatchedOption("--verbose");
    boolean showNativeLog = ChildJvm.showsNativeLog(verbose);
    String name = subcommand.commandSpec().name();
    return IsolatedCommand.ISOLATED.contains(name)
        ? new IsolatedCommand(subcommand, List.of(args), showNativeLog).run(System.out, System.err)
        : RelayedCommand.run("tf-l1l2 " + name, List.of(args), showNativeLog, System.err);
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
              failed
                  .getErr()
                  .println(
                      failed.getCommandSpec().qualifiedName()
                          + ": "
                          + problem.getMessage()
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
