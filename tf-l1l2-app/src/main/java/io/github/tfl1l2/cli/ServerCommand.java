package io.github.tfl1l2.cli;

import io.github.tfl1l2.cli.ListeningSockets.Listener;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.tensorflow.Server;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.proto.ServerDef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tf-l1l2 server}: one task of a TensorFlow gRPC cluster, served by TensorFlow's own {@link
 * Server}. Clients open sessions on it with {@code ClusterSession.open(graph, "grpc://host:port")}.
 *
 * <p>It runs in this process, not in the supervised child JVM of the commands that load a
 * SavedModel: it loads no model, and a task that dies must be seen to die by whoever runs it.
 *
 * <p>TensorFlow cannot stop a started gRPC server ({@code Server.stop()} answers "Clean shutdown is
 * not currently implemented"), so the process exit ends it. SIGTERM and SIGINT start the JVM's
 * shutdown; a shutdown hook installed once the task serves then ends the process with status 0
 * ({@code Runtime.halt}), where the JVM would otherwise exit with 143 or 130. The hook is the only
 * way the command ends after it serves, so it can tell a signal from any other exit.
 *
 * <p>TensorFlow 2.18's gRPC server binds every interface at the task's port, whatever host the
 * cluster names, authenticates no client and runs any graph a client sends. So before its ready
 * line the command prints one warning on stderr naming the address it really bound, read back from
 * {@code /proc} ({@link ListeningSockets}), and, when the cluster names a loopback host for the
 * task, that this host does not limit it.
 */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Starts one task of a TensorFlow gRPC cluster and serves until SIGTERM or SIGINT.",
      "Once it serves it prints: tf-l1l2 server: /job:JOB/replica:0/task:TASK listening on "
          + "grpc://HOST:PORT",
      "Before it, stderr gets one warning line: TensorFlow's server listens on every interface "
          + "at that port, whatever HOST is, and authenticates no client; run it where only the "
          + "cluster's hosts can reach it."
    },
    footer = {
      "",
      "Example (three tasks, three terminals):",
      "  C='--cluster ps=127.0.0.1:2222,127.0.0.1:2223 --cluster worker=127.0.0.1:2224'",
      "  tf-l1l2 server $C --job ps --task 0",
      "  tf-l1l2 server $C --job ps --task 1",
      "  tf-l1l2 server $C --job worker --task 0",
      "",
      "Exit status: 0 stopped by SIGTERM or SIGINT, 2 an invalid option value, or the task "
          + "cannot serve (e.g. its port is in use)."
    })
public final class ServerCommand implements Callable<Integer> {
  private static final String EXPOSURE =
      "authenticates no client; anyone who can reach this port "
          + "can run any TensorFlow op as this user";
  private static final Pattern IPV4 = Pattern.compile("([0-9]{1,3})(\\.[0-9]{1,3}){3}");

  @Spec CommandSpec spec;

  @Option(
      names = "--cluster",
      required = true,
      paramLabel = "JOB=HOST:PORT[,HOST:PORT...]",
      description =
          "One job and its tasks' addresses, task 0 first; repeat for each job "
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
      ServerDef def =
          ServerDef.newBuilder()
              .setCluster(parsed.toClusterDef())
              .setJobName(job)
              .setTaskIndex(task)
              .setProtocol("grpc")
              .build();
      Server server = start(def, address);
      // The ready line names the cluster's address, which scripts match; what TensorFlow bound
      // (every interface, whatever that address's host) goes first, on stderr.
      PrintWriter err = spec.commandLine().getErr();
      err.println(warningFor(address));
      err.flush();
      // A stop by signal is this task's normal end: exit 0. halt, because the JVM is already
      // shutting down with the signal's status (the server needs no cleanup: exit ends it).
      Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0)));
      out.println(
          "tf-l1l2 server: /job:"
              + job
              + "/replica:0/task:"
              + task
              + " listening on grpc://"
              + address);
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
      throw CommandFailure.usage(
          "/job:" + job + "/task:" + task + " cannot serve on " + address + ": " + e.getMessage());
    }
  }

  /** The warning for a server that serves this task's {@code address}, read back from /proc. */
  private static String warningFor(String address) {
    int port = port(address);
    try {
      List<Listener> bound =
          new ListeningSockets(ListeningSockets.PROC, ByteOrder.nativeOrder()).onPort(port);
      return bound.isEmpty()
          ? unreadWarning(
              address,
              "no socket of this process listens on port "
                  + port
                  + " in "
                  + ListeningSockets.PROC.resolve("net/tcp6")
                  + " or "
                  + ListeningSockets.PROC.resolve("net/tcp"))
          : exposureWarning(address, bound);
    } catch (IOException e) {
      return unreadWarning(address, e.getMessage());
    }
  }

  /**
   * The warning line for a task whose {@code --cluster} address is {@code address} and whose server
   * listens on {@code bound} (not empty): the bound addresses and the table that lists them, "every
   * interface" when one is a wildcard, and that a loopback host of the cluster (see {@link
   * #isLoopback}) does not limit it.
   */
  static String exposureWarning(String address, List<Listener> bound) {
    String where =
        bound.stream()
            .map(listener -> listener.address() + ", from " + listener.table())
            .collect(Collectors.joining("; "));
    boolean everywhere = bound.stream().anyMatch(Listener::anyInterface);
    String host = host(address);
    return "tf-l1l2 server: warning: TensorFlow listens on "
        + (everywhere ? "every interface (" + where + ")" : where)
        + (everywhere && isLoopback(host)
            ? ", not only on " + host + " as --cluster names for this task,"
            : "")
        + " and "
        + EXPOSURE;
  }

  /**
   * The warning line when the socket bound for {@code address} cannot be read back, for {@code
   * reason}: it says so, and what TensorFlow 2.18 does.
   */
  static String unreadWarning(String address, String reason) {
    return "tf-l1l2 server: warning: the interface TensorFlow listens on at port "
        + port(address)
        + " could not be read back ("
        + reason
        + "); TensorFlow 2.18 listens on every interface, "
        + "whatever host --cluster names, and "
        + EXPOSURE;
  }

  /**
   * Whether the {@code --cluster} host {@code host} is a loopback one: {@code localhost} or a name
   * under {@code .localhost} (RFC 6761), {@code 127.0.0.0/8} or {@code [::1]}. Other names are not
   * resolved: a DNS lookup could delay the start, and the warning says "every interface"
   * regardless.
   */
  static boolean isLoopback(String host) {
    String lower = host.toLowerCase(Locale.ROOT);
    if (lower.equals("localhost") || lower.endsWith(".localhost")) {
      return true;
    }
    Matcher ipv4 = IPV4.matcher(host);
    if (ipv4.matches()) {
      // Parsed here: InetAddress would look up an invalid literal such as 300.0.0.1 in DNS.
      return Integer.parseInt(ipv4.group(1)) == 127
          && Arrays.stream(host.split("\\.")).allMatch(octet -> Integer.parseInt(octet) <= 255);
    }
    if (!host.startsWith("[")) {
      return false;
    }
    try {
      // A bracketed IPv6 literal is parsed, never looked up.
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false; // not a valid IPv6 literal
    }
  }

  private static String host(String address) {
    return address.substring(0, address.lastIndexOf(':'));
  }

  private static int port(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  /**
   * Fails when this task's port cannot be bound, before TensorFlow tries: its gRPC server would
   * report it with multi-line native log output and "Could not start gRPC server". TensorFlow binds
   * every interface, so the check does too.
   */
  private void checkPortFree(String address) {
    int port = port(address);
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(port));
    } catch (IOException e) {
      throw CommandFailure.usage(
          "/job:"
              + job
              + "/task:"
              + task
              + " cannot serve on "
              + address
              + ": port "
              + port
              + " is in use or cannot be bound ("
              + e.getMessage()
              + ")");
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
