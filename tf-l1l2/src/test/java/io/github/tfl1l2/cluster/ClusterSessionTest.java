package io.github.tfl1l2.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.proto.ConfigProto;

/**
 * What {@link ClusterSession#open} refuses, with a message naming the argument and the value. A
 * session on a live cluster is tested with real server processes in the application module ({@code
 * ClusterTrainingTest}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterSessionTest {

  @Test
  void nullArgumentsAreNamed() {
    try (Graph graph = new Graph()) {
      assertEquals(
          "graph must not be null",
          assertThrows(
                  NullPointerException.class,
                  () -> ClusterSession.open(null, "grpc://127.0.0.1:2222"))
              .getMessage());
      assertTrue(
          assertThrows(NullPointerException.class, () -> ClusterSession.open(graph, null))
              .getMessage()
              .startsWith("target must not be null; expected grpc://host:port"));
      assertEquals(
          "config must not be null",
          assertThrows(
                  NullPointerException.class,
                  () -> ClusterSession.open(graph, "grpc://127.0.0.1:2222", null))
              .getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "127.0.0.1:2222",
        "grpc://127.0.0.1",
        "grpc://:2222",
        "http://127.0.0.1:2222",
        "grpc://127.0.0.1:2222/",
        "grpc://127.0.0.1:22a",
        "local",
        "grpc://-host:2222",
        " grpc://127.0.0.1:2222"
      })
  void targetsThatAreNotGrpcHostPortAreRefused(String target) {
    try (Graph graph = new Graph()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ClusterSession.open(graph, target));
      assertEquals(
          "target must be grpc://host:port (e.g. grpc://127.0.0.1:2224), but was \""
              + target
              + "\"",
          e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 65536, 99999})
  void portsOutsideTheTcpRangeAreRefused(int port) {
    try (Graph graph = new Graph()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> ClusterSession.open(graph, "grpc://127.0.0.1:" + port));
      assertEquals(
          "target's port must be in 1..65535, but was "
              + port
              + " in \"grpc://127.0.0.1:"
              + port
              + "\"",
          e.getMessage());
    }
  }

  @Test
  void targetWhereNothingListensIsRefusedAtOnce() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String target = "grpc://127.0.0.1:" + port;
    try (Graph graph = new Graph()) {
      long start = System.nanoTime();
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ClusterSession.open(graph, target));
      assertTrue(
          e.getMessage().startsWith("target " + target + " cannot be reached ("), e.getMessage());
      assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 11);
    }
  }

  @Test
  void unknownHostIsRefused() {
    try (Graph graph = new Graph()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> ClusterSession.open(graph, "grpc://no-such-host.invalid:2222"));
      assertEquals(
          "target's host \"no-such-host.invalid\" is unknown (in"
              + " \"grpc://no-such-host.invalid:2222\")",
          e.getMessage());
    }
  }

  @Test
  void negativeOperationTimeoutIsRefused() {
    try (Graph graph = new Graph()) {
      ConfigProto config = ConfigProto.newBuilder().setOperationTimeoutInMs(-1).build();
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> ClusterSession.open(graph, "grpc://127.0.0.1:2222", config));
      assertEquals(
          "config's operation_timeout_in_ms must be > 0 (or 0 for the default of 30000"
              + " ms), but was -1",
          e.getMessage());
    }
  }
}
