package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code tf-l1l2 server}: its ready line, its exit on SIGTERM and SIGINT (as a real process), and
 * one line on stderr with exit status 2 for what cannot be served (in this process: these fail
 * before TensorFlow is loaded).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerCommandTest {
  private static final String JAVA = ProcessHandle.current().info().command()
      .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());

  @Test
  void printsTheReadyLineAndExitsZeroOnSigterm() throws Exception {
    assertServesUntil("TERM");
  }

  @Test
  void printsTheReadyLineAndExitsZeroOnSigint() throws Exception {
    assertServesUntil("INT");
  }

  private static void assertServesUntil(String signal) throws Exception {
    int ps0;
    int ps1;
    int worker;
    try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0);
        ServerSocket c = new ServerSocket(0)) {
      ps0 = a.getLocalPort();
      ps1 = b.getLocalPort();
      worker = c.getLocalPort();
    }
    Process server = new ProcessBuilder(JAVA, "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "server",
        "--cluster", "ps=127.0.0.1:" + ps0 + ",127.0.0.1:" + ps1,
        "--cluster", "worker=127.0.0.1:" + worker,
        "--job", "ps", "--task", "1")
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
      assertEquals("tf-l1l2 server: /job:ps/replica:0/task:1 listening on grpc://127.0.0.1:" + ps1,
          out.readLine());
      // It serves: the port is taken.
      assertTrue(server.isAlive());
      assertPortTaken(ps1);
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(server.pid())).start();
      assertEquals(0, kill.waitFor());
      assertTrue(server.waitFor(60, TimeUnit.SECONDS), "ends within 60 s of SIG" + signal);
      assertEquals(0, server.exitValue(), "exit status after SIG" + signal);
      assertEquals(null, out.readLine(), "nothing more on stdout");
    } finally {
      server.destroyForcibly();
      server.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static void assertPortTaken(int port) {
    try (ServerSocket socket = new ServerSocket(port)) {
      throw new AssertionError("port " + socket.getLocalPort() + " is free while the server runs");
    } catch (java.io.IOException expected) {
      // taken by the server
    }
  }

  @Test
  void busyPortIsOneLineAndStatusTwo() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      int port = taken.getLocalPort();
      CliRun.of("server", "--cluster", "worker=127.0.0.1:" + port, "--job", "worker", "--task", "0")
          .failedWith(2, "/job:worker/task:0 cannot serve on 127.0.0.1:" + port,
              "port " + port + " is in use");
    }
  }

  @Test
  void taskOutOfRangeIsOneLineAndStatusTwo() {
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222,127.0.0.1:2223", "--job", "ps",
        "--task", "2")
        .failedWith(2, "--task 2 is out of range", "job 'ps' has 2 tasks (0..1)");
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222", "--job", "ps", "--task", "-1")
        .failedWith(2, "--task -1 is out of range", "job 'ps' has 1 task (0)");
  }

  @Test
  void jobMissingFromTheClusterIsOneLineAndStatusTwo() {
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222", "--job", "worker", "--task", "0")
        .failedWith(2, "--job 'worker' is not a job of --cluster", "the jobs are ps");
  }

  @Test
  void badClusterSpecsAreOneLineAndStatusTwo() {
    List<List<String>> cases = List.of(
        List.of("ps127.0.0.1:2222", "has no '='"),
        List.of("ps=", "'' is not HOST:PORT"),
        List.of("ps=127.0.0.1", "'127.0.0.1' is not HOST:PORT"),
        List.of("ps=127.0.0.1:2222,", "'' is not HOST:PORT"),
        List.of("ps=127.0.0.1:99999", "port 99999 of '127.0.0.1:99999' must be in 1..65535"),
        List.of("ps=127.0.0.1:0", "port 0 of '127.0.0.1:0' must be in 1..65535"),
        List.of("2ps=127.0.0.1:2222", "job name '2ps' must be a letter"),
        List.of("ps=127.0.0.1:2222,127.0.0.1:2222", "address 127.0.0.1:2222 is already ps task 0"));
    for (List<String> c : cases) {
      CliRun.of("server", "--cluster", c.get(0), "--job", "ps", "--task", "0")
          .failedWith(2, "tf-l1l2 server: --cluster '" + c.get(0) + "'", c.get(1));
    }
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222", "--cluster", "ps=127.0.0.1:2223",
        "--job", "ps", "--task", "0")
        .failedWith(2, "job 'ps' is given twice");
  }

  @Test
  void missingOptionsAreOneLineAndStatusTwo() {
    CliRun.of("server", "--job", "ps", "--task", "0")
        .failedWith(2, "tf-l1l2 server", "--cluster");
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222", "--job", "ps", "--task", "zero")
        .failedWith(2, "tf-l1l2 server", "zero");
  }
}
