package io.github.tfl1l2.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.tfl1l2.cli.ListeningSockets.Listener;
import io.github.tfl1l2.cli.ListeningSockets.Row;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ListeningSockets}: a process's listening sockets from sample {@code /proc} trees written
 * as a little-endian (x86) kernel prints them, and from this machine's own {@code /proc}.
 */
class ListeningSocketsTest {
  private static final String TCP6_HEADER =
      "  sl  local_address                         "
          + "remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          + "timeout inode\n";
  private static final String TCP_HEADER =
      "  sl  local_address rem_address   st tx_queue rx_queue "
          + "tr tm->when retrnsmt   uid  timeout inode\n";

  @TempDir Path proc;

  /** A table row: local address, remote address, state and inode; the other columns as usual. */
  private static String row(int sl, String local, String remote, String state, long inode) {
    return String.format(
        "%4d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %d"
            + " 1 0000000000000000 100 0 0 10 0\n",
        sl, local, remote, state, inode);
  }

  private void writeProc(String tcp6, String tcp, String... fdTargets) throws IOException {
    Files.createDirectories(proc.resolve("net"));
    if (tcp6 != null) {
      Files.writeString(proc.resolve("net/tcp6"), tcp6);
    }
    if (tcp != null) {
      Files.writeString(proc.resolve("net/tcp"), tcp);
    }
    Path fd = Files.createDirectories(proc.resolve("self/fd"));
    for (int i = 0; i < fdTargets.length; i++) {
      Files.createSymbolicLink(fd.resolve(Integer.toString(i)), Path.of(fdTargets[i]));
    }
  }

  private List<Listener> onPort(int port) throws IOException {
    return new ListeningSockets(proc, ByteOrder.LITTLE_ENDIAN).onPort(port);
  }

  @Test
  void findsTheListenSocketOnThePortAmongThisProcesssSockets() throws IOException {
    String zeros6 = "00000000000000000000000000000000";
    writeProc(
        TCP6_HEADER + row(0, zeros6 + ":5749", zeros6 + ":0000", "0A", 10159),
        TCP_HEADER
            // another process's listener on the same port (SO_REUSEPORT): not ours
            + row(0, "00000000:5749", "00000000:0000", "0A", 20002)
            // our connection from that port: not a listener
            + row(1, "0100007F:5749", "0100007F:A1B2", "01", 10160)
            // our listener on another port
            + row(2, "0100007F:0CEA", "00000000:0000", "0A", 10161),
        "anon_inode:[eventfd]",
        "pipe:[555]",
        "socket:[10159]",
        "socket:[10160]",
        "socket:[10161]",
        "anon_inode:[eventpoll]");
    assertEquals(List.of(new Listener("::", 22345, true, proc.resolve("net/tcp6"))), onPort(22345));
    assertEquals(
        List.of(new Listener("127.0.0.1", 3306, false, proc.resolve("net/tcp"))), onPort(3306));
    assertEquals(List.of(), onPort(2222));
  }

  @Test
  void listsBothTablesIpv6First() throws IOException {
    writeProc(
        TCP6_HEADER
            + row(
                0,
                "00000000000000000000000001000000:08AE",
                "00000000000000000000000000000000:0000",
                "0A",
                7),
        TCP_HEADER + row(0, "00000000:08AE", "00000000:0000", "0A", 8),
        "socket:[8]",
        "socket:[7]");
    assertEquals(
        List.of(
            new Listener("::1", 2222, false, proc.resolve("net/tcp6")),
            new Listener("0.0.0.0", 2222, true, proc.resolve("net/tcp"))),
        onPort(2222));
  }

  @Test
  void aKernelWithoutIpv6IsReadFromTcpAlone() throws IOException {
    writeProc(null, TCP_HEADER + row(0, "00000000:08AE", "00000000:0000", "0A", 8), "socket:[8]");
    assertEquals(
        List.of(new Listener("0.0.0.0", 2222, true, proc.resolve("net/tcp"))), onPort(2222));
  }

  @Test
  void noTablesIsAnIoExceptionNamingBoth() throws IOException {
    writeProc(null, null, "socket:[8]");
    IOException e = assertThrows(IOException.class, () -> onPort(2222));
    assertEquals(
        "neither " + proc.resolve("net/tcp6") + " nor " + proc.resolve("net/tcp") + " exists",
        e.getMessage());
  }

  @Test
  void noFdDirectoryIsAnIoExceptionNamingIt() {
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                new ListeningSockets(proc.resolve("absent"), ByteOrder.LITTLE_ENDIAN).onPort(2222));
    assertEquals(proc.resolve("absent/self/fd") + " does not exist", e.getMessage());
  }

  @Test
  void aRowNotInTheKernelsFormatIsAnIoExceptionNamingTheTable() throws IOException {
    writeProc(TCP6_HEADER, TCP_HEADER + "   0: 0100007F 00000000:0000 0A\n", "socket:[8]");
    IOException e = assertThrows(IOException.class, () -> onPort(2222));
    assertTrue(
        e.getMessage()
            .startsWith(
                proc.resolve("net/tcp")
                    + " has a row not in the "
                    + "kernel's format ('0: 0100007F 00000000:0000 0A')"),
        e.getMessage());
  }

  @Test
  void socketInodesAreTheSocketLinksOfTheFdDirectory() throws IOException {
    writeProc("", "", "anon_inode:[eventfd]", "socket:[42]", "pipe:[43]", "socket:[4294967296]");
    assertEquals(Set.of(42L, 4294967296L), ListeningSockets.socketInodes(proc.resolve("self/fd")));
  }

  /** The address of a one-row table, the row's words read in byte order {@code order}. */
  private static String host(String table, String address, ByteOrder order) throws IOException {
    String remote = address.replaceAll("[0-9A-F]", "0");
    List<Row> rows =
        ListeningSockets.parse(
            Path.of(table),
            TCP_HEADER + row(0, address + ":0016", remote + ":0000", "0A", 1),
            order);
    assertEquals(1, rows.size());
    assertEquals(22, rows.get(0).port());
    return rows.get(0).host();
  }

  @Test
  void ipv4AddressesAreReadInTheKernelsByteOrder() throws IOException {
    assertEquals("127.0.0.1", host("tcp", "0100007F", ByteOrder.LITTLE_ENDIAN));
    assertEquals("127.0.0.1", host("tcp", "7F000001", ByteOrder.BIG_ENDIAN));
    assertEquals("192.168.1.20", host("tcp", "1401A8C0", ByteOrder.LITTLE_ENDIAN));
    assertEquals("0.0.0.0", host("tcp", "00000000", ByteOrder.LITTLE_ENDIAN));
  }

  @Test
  void ipv6AddressesAreReadWordByWordAndWrittenInRfc5952Form() throws IOException {
    ByteOrder le = ByteOrder.LITTLE_ENDIAN;
    assertEquals("::", host("tcp6", "00000000000000000000000000000000", le));
    assertEquals("::1", host("tcp6", "00000000000000000000000001000000", le));
    assertEquals("::1", host("tcp6", "00000000000000000000000000000001", ByteOrder.BIG_ENDIAN));
    assertEquals("fe80::1", host("tcp6", "000080FE000000000000000001000000", le));
    assertEquals("::ffff:127.0.0.1", host("tcp6", "0000000000000000FFFF00000100007F", le));
    // 2001:db8:0:0:1:0:0:1: of two equal zero runs the first is shortened
    assertEquals("2001:db8::1:0:0:1", host("tcp6", "B80D0120000000000000010001000000", le));
    // 2001:db8:0:1:0:0:0:1: the longest run is shortened, a lone zero group is not
    assertEquals("2001:db8:0:1::1", host("tcp6", "B80D0120010000000000000001000000", le));
  }

  @Test
  void readsThisProcesssOwnListenersFromTheRealProc() throws IOException {
    assumeTrue(Files.isDirectory(ListeningSockets.PROC.resolve("self/fd")), "no /proc");
    ListeningSockets sockets = new ListeningSockets(ListeningSockets.PROC, ByteOrder.nativeOrder());
    try (ServerSocket loopback = new ServerSocket()) {
      loopback.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      int port = loopback.getLocalPort();
      // The JVM opens IPv6 sockets where the kernel has IPv6: 127.0.0.1 is bound as its mapped
      // IPv6 address.
      assertTrue(
          Set.of(
                  List.of(new Listener("127.0.0.1", port, false, Path.of("/proc/net/tcp"))),
                  List.of(new Listener("::ffff:127.0.0.1", port, false, Path.of("/proc/net/tcp6"))))
              .contains(sockets.onPort(port)),
          sockets.onPort(port).toString());
    }
    try (ServerSocket wildcard = new ServerSocket(0)) {
      int port = wildcard.getLocalPort();
      List<Listener> bound = sockets.onPort(port);
      assertEquals(1, bound.size(), bound.toString());
      assertTrue(bound.get(0).anyInterface(), bound.toString());
      // The JVM binds [::] where IPv6 is available, 0.0.0.0 where it is not.
      assertTrue(Set.of("::", "0.0.0.0").contains(bound.get(0).host()), bound.toString());
    }
  }
}
