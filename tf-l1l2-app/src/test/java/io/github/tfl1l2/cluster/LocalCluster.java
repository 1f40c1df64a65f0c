package io.github.tfl1l2.cluster;

import io.github.tfl1l2.cli.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A TensorFlow cluster on 127.0.0.1 for tests: every task is {@code tf-l1l2 server} in a child JVM
 * with the test class path, on a free port. {@link #close()} kills every child (SIGKILL) and waits
 * for it, and a shutdown hook does the same if the test JVM itself is stopped, so no task outlives
 * the test even when it fails.
 */
final class LocalCluster implements AutoCloseable {
  /** How long a task may take from JVM start to its ready line (two loaded cores: ~3-10 s). */
  static final long START_TIMEOUT_SECONDS = 90;

  private static final String JAVA =
      ProcessHandle.current()
          .info()
          .command()
          .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());

  private final Map<String, List<Integer>> ports;
  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final Path logs;
  private final Thread killOnExit = new Thread(this::killAll, "local-cluster-kill");

  private LocalCluster(Map<String, List<Integer>> ports) throws IOException {
    this.ports = ports;
    this.logs = Files.createTempDirectory("tf-l1l2-cluster-");
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /**
   * Starts {@code ps} parameter-server tasks and {@code workers} worker tasks and waits for them.
   */
  static LocalCluster start(int ps, int workers) throws IOException {
    List<Integer> free = freePorts(ps + workers);
    Map<String, List<Integer>> ports = new LinkedHashMap<>();
    ports.put("ps", List.copyOf(free.subList(0, ps)));
    ports.put("worker", List.copyOf(free.subList(ps, ps + workers)));
    LocalCluster cluster = new LocalCluster(ports);
    try {
      List<String> names = new ArrayList<>();
      List<CompletableFuture<String>> ready = new ArrayList<>();
      ports.forEach(
          (job, list) -> {
            for (int task = 0; task < list.size(); task++) {
              names.add(job + "/" + task);
              ready.add(cluster.launch(job, task));
            }
          });
      for (int i = 0; i < ready.size(); i++) {
        cluster.await(names.get(i), ready.get(i));
      }
      return cluster;
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** The {@code grpc://127.0.0.1:PORT} address of a task. */
  String target(String job, int task) {
    return "grpc://" + address(job, task);
  }

  /** The {@code --cluster} options that describe this cluster. */
  List<String> clusterOptions() {
    List<String> options = new ArrayList<>();
    ports.forEach(
        (job, list) -> {
          options.add("--cluster");
          options.add(
              job + "=" + String.join(",", list.stream().map(p -> "127.0.0.1:" + p).toList()));
        });
    return options;
  }

  /** The process of a task. */
  Process process(String job, int task) {
    synchronized (processes) {
      return processes.get(job + "/" + task);
    }
  }

  /**
   * Kills a task (SIGKILL, as a crash or a lost machine would end it) and waits until it is gone.
   */
  void kill(String job, int task) throws InterruptedException {
    Process process = process(job, task);
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError(job + "/" + task + " did not end within 30 s of SIGKILL");
    }
  }

  /** Starts a task again on its port, after {@link #kill}, and waits until it serves. */
  void restart(String job, int task) {
    await(job + "/" + task, launch(job, task));
  }

  /** Whether every task is alive. */
  boolean allAlive() {
    synchronized (processes) {
      return processes.values().stream().allMatch(Process::isAlive);
    }
  }

  /** Restarts every task that is not alive, e.g. after a test that killed one failed midway. */
  void restartDead() {
    ports.forEach(
        (job, list) -> {
          for (int task = 0; task < list.size(); task++) {
            if (!process(job, task).isAlive()) {
              restart(job, task);
            }
          }
        });
  }

  @Override
  public void close() {
    killAll();
    try (var files = Files.list(logs)) {
      for (Path file : files.toList()) {
        Files.deleteIfExists(file);
      }
      Files.deleteIfExists(logs);
    } catch (IOException e) {
      // a temporary directory left behind is harmless
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }

  private void killAll() {
    List<Process> all;
    synchronized (processes) {
      all = List.copyOf(processes.values());
    }
    for (Process process : all) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
    for (Process process : all) {
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private String address(String job, int task) {
    return "127.0.0.1:" + ports.get(job).get(task);
  }

  private CompletableFuture<String> launch(String job, int task) {
    List<String> command =
        new ArrayList<>(
            List.of(
                JAVA,
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-XX:-CreateCoredumpOnCrash",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "server"));
    command.addAll(clusterOptions());
    command.addAll(List.of("--job", job, "--task", Integer.toString(task)));
    Path log = logs.resolve(job + "-" + task + ".stderr");
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    synchronized (processes) {
      processes.put(job + "/" + task, process);
    }
    String expected =
        "tf-l1l2 server: /job:"
            + job
            + "/replica:0/task:"
            + task
            + " listening on grpc://"
            + address(job, task);
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                  if (!ready.isDone()) {
                    ready.complete(line);
                  }
                }
              } catch (IOException e) {
                // the task is gone
              }
              ready.complete(null);
            },
            "task-" + job + "-" + task);
    reader.setDaemon(true);
    reader.start();
    return ready.thenApply(
        line -> {
          if (!expected.equals(line)) {
            throw new IllegalStateException(
                job
                    + "/"
                    + task
                    + " printed "
                    + line
                    + " instead of "
                    + expected
                    + "; its stderr: "
                    + stderr(job, task));
          }
          return line;
        });
  }

  private void await(String name, CompletableFuture<String> ready) {
    try {
      ready.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(name + " did not serve within " + START_TIMEOUT_SECONDS + " s");
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while starting " + name, e);
    }
  }

  /** What a task wrote to stderr so far. */
  String stderr(String job, int task) {
    try {
      return Files.readString(logs.resolve(job + "-" + task + ".stderr"));
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  /** Free ports, all held open together while they are picked so that none repeats. */
  static List<Integer> freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0);
        sockets.add(socket);
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
