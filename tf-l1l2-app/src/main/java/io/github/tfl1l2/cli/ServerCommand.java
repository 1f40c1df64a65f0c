package io.github.tfl1l2.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.ref.Reference;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.Callable;
import org.tensorflow.Server;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.proto.ServerDef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tf-l1l2 server}: one task of a TensorFlow gRPC cluster, served by TensorFlow's own
 * {@link Server}. Clients open sessions on it with {@code ClusterSession.open(graph,
 * "grpc://host:port")}.
 *
 * <p>It runs in this process, not in the supervised child JVM of the commands that load a
 * SavedModel: it loads no model, and a task that dies must be seen to die by whoever runs it.
 *
 * <p>TensorFlow cannot stop a started gRPC server ({@code Server.stop()} answers "Clean shutdown is
 * not currently implemented"), so the process exit ends it. SIGTERM and SIGINT start the JVM's
 * shutdown; a shutdown hook installed once the task serves then ends the process with status 0
 * ({@code Runtime.halt}), where the JVM would otherwise exit with 143 or 130. The hook is the
 * only way the command ends after it serves, so it can tell a signal from any other exit.
 */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Starts one task of a TensorFlow gRPC cluster and serves until SIGTERM or SIGINT.",
      "Once it serves it prints: tf-l1l2 server: /job:JOB/replica:0/task:TASK listening on "
          + "grpc://HOST:PORT",
      "TensorFlow's server listens on every interface at that port: run it where only the "
          + "cluster's hosts can reach it."
    },
    footer = {"", "Example (three tasks, three terminals):",
        "  C='--cluster ps=127.0.0.1:2222,127.0.0.1:2223 --cluster worker=127.0.0.1:2224'",
        "  tf-l1l2 server $C --job ps --task 0",
        "  tf-l1l2 server $C --job ps --task 1",
        "  tf-l1l2 server $C --job worker --task 0",
        "",
        "Exit status: 0 stopped by SIGTERM or SIGINT, 2 an invalid option value, or the task "
            + "cannot serve (e.g. its port is in use)."})
public final class ServerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--cluster",
      required = true,
      paramLabel = "JOB=HOST:PORT[,HOST:PORT...]",
      description = "One job and its tasks' addresses, task 0 first; repeat for each job "
          + "(e.g. --cluster ps=127.0.0.1:2222,127.0.0.1:2223 --cluster worker=127.0.0.1:2224).")
  List<String> cluster;

  @Option(names = "--job", required = true, description = "This task's job, one of --cluster's.")
  String job;

  @Option(names = "--task", required = true, description = "This task's index in its job, from 0.")
  int task;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try {
      ClusterSpec parsed = ClusterSpec.parse(cluster);
      String address = parsed.address(job, task);
      checkPortFree(address);
      ServerDef def = ServerDef.newBuilder()
          .setCluster(parsed.toClusterDef())
          .setJobName(job)
          .setTaskIndex(task)
          .setProtocol("grpc")
          .build();
      Server server = start(def, address);
      // A stop by signal is this task's normal end: exit 0. halt, because the JVM is already
      // shutting down with the signal's status (the server needs no cleanup: exit ends it).
      Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0)));
      out.println("tf-l1l2 server: /job:" + job + "/replica:0/task:" + task
          + " listening on grpc://" + address);
      out.flush();
      awaitSignal();
      // The server object is kept reachable until here; the process exit stops it.
      Reference.reachabilityFence(server);
      return 0;
    } catch (RuntimeException e) {
      return Failures.report(spec, e);
    }
  }

  private Server start(ServerDef def, String address) {
    try {
      Server server = new Server(def);
      server.start();
      return server;
    } catch (TensorFlowException e) {
      // E.g. the port was taken after checkPortFree.
      throw CommandFailure.usage("/job:" + job + "/task:" + task + " cannot serve on " + address
          + ": " + e.getMessage());
    }
  }

  /**
   * Fails when this task's port cannot be bound, before TensorFlow tries: its gRPC server would
   * report it with multi-line native log output and "Could not start gRPC server". TensorFlow
   * binds every interface, so the check does too.
   */
  private void checkPortFree(String address) {
    int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(port));
    } catch (IOException e) {
      throw CommandFailure.usage("/job:" + job + "/task:" + task + " cannot serve on " + address
          + ": port " + port + " is in use or cannot be bound (" + e.getMessage() + ")");
    }
  }

  /** Blocks until the process ends: only SIGTERM or SIGINT (through the hook) end the task. */
  private static void awaitSignal() {
    Object never = new Object();
    synchronized (never) {
      while (true) {
        try {
          never.wait();
        } catch (InterruptedException e) {
          // Only a signal ends the task.
        }
      }
    }
  }

}
