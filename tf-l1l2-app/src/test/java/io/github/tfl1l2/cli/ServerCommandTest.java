package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.cli.ListeningSockets.Listener;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tf-l1l2 server}: its warning on stderr and its unchanged ready line, its exit on SIGTERM
 * and SIGINT (as a real process), the warning's text for the addresses it may find bound, and one
 * line on stderr with exit status 2 for what cannot be served (in this process: these fail before
 * TensorFlow is loaded).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerCommandTest {
  private static final String JAVA =
      ProcessHandle.current()
          .info()
          .command()
          .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  private static final String EXPOSURE =
      "authenticates no client; anyone who can reach this port "
          + "can run any TensorFlow op as this user";

  @TempDir Path temp;

  @Test
  void printsTheReadyLineAndExitsZeroOnSigterm() throws Exception {
    assertServesUntil("TERM");
  }

  @Test
  void printsTheReadyLineAndExitsZeroOnSigint() throws Exception {
    assertServesUntil("INT");
  }

  private void assertServesUntil(String signal) throws Exception {
    int ps0;
    int ps1;
    int worker;
    try (ServerSocket a = new ServerSocket(0);
        ServerSocket b = new ServerSocket(0);
        ServerSocket c = new ServerSocket(0)) {
      ps0 = a.getLocalPort();
      ps1 = b.getLocalPort();
      worker = c.getLocalPort();
    }
    Process server =
        new ProcessBuilder(
                JAVA,
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "server",
                "--cluster",
                "ps=127.0.0.1:" + ps0 + ",127.0.0.1:" + ps1,
                "--cluster",
                "worker=127.0.0.1:" + worker,
                "--job",
                "ps",
                "--task",
                "1")
            .redirectError(temp.resolve("stderr.txt").toFile())
            .start();
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
      assertEquals(
          "tf-l1l2 server: /job:ps/replica:0/task:1 listening on grpc://127.0.0.1:" + ps1,
          out.readLine());
      // Printed and flushed before the ready line, so it is in the file now.
      assertWarnsOfEveryInterface(Files.readString(temp.resolve("stderr.txt")), ps1);
      // It serves: the port is taken, and answers beyond the loopback host it was given.
      assertTrue(server.isAlive());
      assertPortTaken(ps1);
      assertAcceptsOnANonLoopbackAddress(ps1);
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

  /**
   * Asserts that stderr has one line of the command's own (TensorFlow's log aside): the warning,
   * naming the wildcard address at {@code port} as /proc lists it and the loopback host it ignores.
   */
  private static void assertWarnsOfEveryInterface(String stderr, int port) {
    List<String> own = stderr.lines().filter(line -> line.startsWith("tf-l1l2 ")).toList();
    assertEquals(1, own.size(), stderr);
    String warning = own.get(0);
    String suffix = ", not only on 127.0.0.1 as --cluster names for this task, and " + EXPOSURE;
    // gRPC binds [::] (IPv4 too) where the kernel has IPv6, 0.0.0.0 where it has not.
    List<String> expected =
        List.of(
            "tf-l1l2 server: warning: TensorFlow listens on every interface ([::]:"
                + port
                + ", from /proc/net/tcp6)"
                + suffix,
            "tf-l1l2 server: warning: TensorFlow listens on every interface (0.0.0.0:"
                + port
                + ", from /proc/net/tcp)"
                + suffix);
    assertTrue(expected.contains(warning), warning);
  }

  /**
   * Asserts that a connection to {@code port} on one of this machine's non-loopback addresses is
   * accepted: the server listens beyond the loopback host of its cluster spec, as the warning says.
   * A machine with no such address checks nothing here.
   */
  private static void assertAcceptsOnANonLoopbackAddress(int port) throws IOException {
    Optional<InetAddress> external =
        NetworkInterface.networkInterfaces()
            .filter(ServerCommandTest::isUp)
            .flatMap(NetworkInterface::inetAddresses)
            .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
            .findFirst();
    if (external.isPresent()) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(external.get(), port), 10_000);
      }
    }
  }

  private static boolean isUp(NetworkInterface network) {
    try {
      return network.isUp() && !network.isLoopback();
    } catch (SocketException e) {
      return false;
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
  void theWarningNamesEveryBoundAddressAndTheLoopbackHostThatDoesNotLimitIt() {
    Listener any6 = new Listener("::", 2222, true, Path.of("/proc/net/tcp6"));
    Listener any4 = new Listener("0.0.0.0", 2222, true, Path.of("/proc/net/tcp"));
    assertEquals(
        "tf-l1l2 server: warning: TensorFlow listens on every interface ([::]:2222, "
            + "from /proc/net/tcp6), not only on localhost as --cluster names for this task, and "
            + EXPOSURE,
        ServerCommand.exposureWarning("localhost:2222", List.of(any6)));
    assertEquals(
        "tf-l1l2 server: warning: TensorFlow listens on every interface ([::]:2222, "
            + "from /proc/net/tcp6; 0.0.0.0:2222, from /proc/net/tcp) and "
            + EXPOSURE,
        ServerCommand.exposureWarning("10.0.0.5:2222", List.of(any6, any4)));
  }

  @Test
  void aSocketBoundToOneAddressIsNamedWithoutEveryInterface() {
    // Not what TensorFlow 2.18 does; the warning says what /proc says.
    Listener loopback = new Listener("127.0.0.1", 2222, false, Path.of("/proc/net/tcp"));
    assertEquals(
        "tf-l1l2 server: warning: TensorFlow listens on 127.0.0.1:2222, from "
            + "/proc/net/tcp and "
            + EXPOSURE,
        ServerCommand.exposureWarning("127.0.0.1:2222", List.of(loopback)));
  }

  @Test
  void aSocketThatCannotBeReadBackIsSaidSo() {
    String warning = ServerCommand.unreadWarning("127.0.0.1:2222", "/proc/self/fd does not exist");
    assertEquals(
        "tf-l1l2 server: warning: the interface TensorFlow listens on at port 2222 could "
            + "not be read back (/proc/self/fd does not exist); TensorFlow 2.18 listens on every "
            + "interface, whatever host --cluster names, and "
            + EXPOSURE,
        warning);
  }

  @Test
  void loopbackHostsAreLocalhost127Slash8AndIpv6Loopback() {
    for (String host :
        List.of(
            "localhost",
            "LocalHost",
            "ps0.localhost",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "[0:0:0:0:0:0:0:1]")) {
      assertTrue(ServerCommand.isLoopback(host), host);
    }
    for (String host :
        List.of(
            "0.0.0.0",
            "10.0.0.5",
            "128.0.0.1",
            "127.0.0.300",
            "[::]",
            "[fd00::2]",
            "ps0.example.com",
            "localhost.example.com",
            "127")) {
      assertFalse(ServerCommand.isLoopback(host), host);
    }
  }

  @Test
  void busyPortIsOneLineAndStatusTwo() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      int port = taken.getLocalPort();
      CliRun.of("server", "--cluster", "worker=127.0.0.1:" + port, "--job", "worker", "--task", "0")
          .failedWith(
              2,
              "/job:worker/task:0 cannot serve on 127.0.0.1:" + port,
              "port " + port + " is in use");
    }
  }

  @Test
  void taskOutOfRangeIsOneLineAndStatusTwo() {
    CliRun.of(
            "server", "--cluster", "ps=127.0.0.1:2222,127.0.0.1:2223", "--job", "ps", "--task", "2")
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
    List<List<String>> cases =
        List.of(
            List.of("ps127.0.0.1:2222", "has no '='"),
            List.of("ps=", "'' is not HOST:PORT"),
            List.of("ps=127.0.0.1", "'127.0.0.1' is not HOST:PORT"),
            List.of("ps=127.0.0.1:2222,", "'' is not HOST:PORT"),
            List.of("ps=127.0.0.1:99999", "port 99999 of '127.0.0.1:99999' must be in 1..65535"),
            List.of("ps=127.0.0.1:0", "port 0 of '127.0.0.1:0' must be in 1..65535"),
            List.of("2ps=127.0.0.1:2222", "job name '2ps' must be a letter"),
            List.of(
                "ps=127.0.0.1:2222,127.0.0.1:2222", "address 127.0.0.1:2222 is already ps task 0"));
    for (List<String> c : cases) {
      CliRun.of("server", "--cluster", c.get(0), "--job", "ps", "--task", "0")
          .failedWith(2, "tf-l1l2 server: --cluster '" + c.get(0) + "'", c.get(1));
    }
    CliRun.of(
            "server",
            "--cluster",
            "ps=127.0.0.1:2222",
            "--cluster",
            "ps=127.0.0.1:2223",
            "--job",
            "ps",
            "--task",
            "0")
        .failedWith(2, "job 'ps' is given twice");
  }

  @Test
  void missingOptionsAreOneLineAndStatusTwo() {
    CliRun.of("server", "--job", "ps", "--task", "0").failedWith(2, "tf-l1l2 server", "--cluster");
    CliRun.of("server", "--cluster", "ps=127.0.0.1:2222", "--job", "ps", "--task", "zero")
        .failedWith(2, "tf-l1l2 server", "zero");
  }
}
