package io.github.tfl1l2.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TCP sockets this process listens on, read back from Linux's {@code /proc}: the rows of {@code
 * /proc/net/tcp6} and {@code /proc/net/tcp} in state LISTEN whose inode is one of the sockets open
 * in {@code /proc/self/fd}. It is how {@code tf-l1l2 server} learns which interface TensorFlow's
 * gRPC server really bound, which TensorFlow does not report.
 *
 * <p>The tables print each 32-bit word of an address as the kernel holds it, in the machine's byte
 * order ({@code 0100007F} is 127.0.0.1 on x86), and the port as a number in hexadecimal.
 */
final class ListeningSockets {
  /** Where Linux mounts procfs. */
  static final Path PROC = Path.of("/proc");

  /** TCP_LISTEN in the kernel's {@code tcp_states.h}. */
  private static final String LISTEN = "0A";

  private static final Pattern SOCKET_LINK = Pattern.compile("socket:\\[([0-9]+)]");

  /**
   * One listening socket.
   *
   * @param host its local address as text, IPv6 in RFC 5952 form ({@code ::}, {@code ::1})
   * @param port its local port
   * @param anyInterface whether the address is the wildcard ({@code 0.0.0.0} or {@code ::}): the
   *     socket accepts connections on every interface
   * @param table the {@code /proc} file that lists it
   */
  record Listener(String host, int port, boolean anyInterface, Path table) {
    /** {@code host:port}, the IPv6 host in brackets. */
    String address() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** One row of a table: a socket's local address, state and inode. */
  record Row(String host, int port, boolean anyInterface, String state, long inode) {}

  private final Path proc;
  private final ByteOrder order;

  /**
   * A reader of the procfs mounted at {@code proc} whose tables are in byte order {@code order};
   * {@code new ListeningSockets(PROC, ByteOrder.nativeOrder())} reads this machine's.
   */
  ListeningSockets(Path proc, ByteOrder order) {
    this.proc = proc;
    this.order = order;
  }

  /**
   * This process's sockets that listen on {@code port}, those of {@code net/tcp6} first; empty when
   * there is none.
   *
   * @throws IOException when {@code self/fd} or a table that exists cannot be read, when neither
   *     table exists, or when a row cannot be parsed; its message names the file
   */
  List<Listener> onPort(int port) throws IOException {
    Set<Long> mine = socketInodes(proc.resolve("self").resolve("fd"));
    List<Listener> listeners = new ArrayList<>();
    List<Path> missing = new ArrayList<>();
    for (String name : List.of("tcp6", "tcp")) {
      Path table = proc.resolve("net").resolve(name);
      if (!Files.exists(table)) {
        // A kernel without IPv6 (ipv6.disable=1) has no tcp6: the other table still answers.
        missing.add(table);
        continue;
      }
      for (Row row : parse(table, read(table), order)) {
        if (row.state().equals(LISTEN) && row.port() == port && mine.contains(row.inode())) {
          listeners.add(new Listener(row.host(), row.port(), row.anyInterface(), table));
        }
      }
    }
    if (missing.size() == 2) {
      throw new IOException("neither " + missing.get(0) + " nor " + missing.get(1) + " exists");
    }
    return listeners;
  }

  /** The inodes of the sockets among the links of {@code fdDirectory}. */
  static Set<Long> socketInodes(Path fdDirectory) throws IOException {
    Set<Long> inodes = new HashSet<>();
    try (DirectoryStream<Path> links = Files.newDirectoryStream(fdDirectory)) {
      for (Path link : links) {
        String target;
        try {
          target = Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
          // Closed since the listing (the listing's own descriptor, for one): not a listener.
          continue;
        }
        Matcher socket = SOCKET_LINK.matcher(target);
        if (socket.matches()) {
          inodes.add(Long.parseLong(socket.group(1)));
        }
      }
    } catch (NoSuchFileException e) {
      throw new IOException(fdDirectory + " does not exist", e);
    } catch (IOException e) {
      throw new IOException("cannot list " + fdDirectory + ": " + e.getMessage(), e);
    }
    return inodes;
  }

  /**
   * The rows of {@code text}, the content of {@code table} (a {@code /proc/net/tcp} or {@code tcp6}
   * file, header line first), its words in byte order {@code order}.
   *
   * @throws IOException naming the table and the row when a row is not in the kernel's format
   */
  static List<Row> parse(Path table, String text, ByteOrder order) throws IOException {
    List<Row> rows = new ArrayList<>();
    List<String> lines = text.lines().toList();
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      if (line.isBlank()) {
        continue;
      }
      try {
        rows.add(row(line.trim().split("\\s+"), order));
      } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
        throw new IOException(
            table
                + " has a row not in the kernel's format ('"
                + line.trim()
                + "'): "
                + e.getMessage(),
            e);
      }
    }
    return rows;
  }

  /** Columns: sl, local_address, rem_address, st, tx:rx queues, tr:when, retrnsmt, uid, ... */
  private static Row row(String[] columns, ByteOrder order) {
    if (columns.length < 10) {
      throw new IllegalArgumentException("expected at least 10 columns");
    }
    String local = columns[1];
    int colon = local.indexOf(':');
    String hex = colon < 0 ? "" : local.substring(0, colon);
    if (hex.length() != 8 && hex.length() != 32) {
      throw new IllegalArgumentException("local address '" + local + "' is not ADDRESS:PORT");
    }
    byte[] address = new byte[hex.length() / 2];
    ByteBuffer words = ByteBuffer.wrap(address).order(order);
    for (int word = 0; word < hex.length(); word += 8) {
      words.putInt((int) Long.parseLong(hex.substring(word, word + 8), 16));
    }
    int port = Integer.parseInt(local.substring(colon + 1), 16);
    boolean any = true;
    for (byte b : address) {
      any &= b == 0;
    }
    long inode = Long.parseLong(columns[9]);
    return new Row(
        address.length == 4 ? ipv4(address, 0) : ipv6(address), port, any, columns[3], inode);
  }

  private static String ipv4(byte[] address, int from) {
    return (address[from] & 0xff)
        + "."
        + (address[from + 1] & 0xff)
        + "."
        + (address[from + 2] & 0xff)
        + "."
        + (address[from + 3] & 0xff);
  }

  /**
   * RFC 5952 text: lower-case groups without leading zeros, the longest run of two or more zero
   * groups (the first of equals) as {@code ::}, an IPv4-mapped address as {@code ::ffff:a.b.c.d}.
   * Written here because {@code Inet6Address} prints no {@code ::} and turns mapped addresses into
   * IPv4 ones.
   */
  private static String ipv6(byte[] address) {
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((address[2 * i] & 0xff) << 8) | (address[2 * i + 1] & 0xff);
    }
    boolean mapped = groups[5] == 0xffff;
    for (int i = 0; i < 5; i++) {
      mapped &= groups[i] == 0;
    }
    if (mapped) {
      return "::ffff:" + ipv4(address, 12);
    }
    int bestStart = -1;
    int bestLength = 1;
    for (int start = 0; start < 8; ) {
      int end = start;
      while (end < 8 && groups[end] == 0) {
        end++;
      }
      if (end - start > bestLength) {
        bestStart = start;
        bestLength = end - start;
      }
      start = end == start ? start + 1 : end;
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        text.append("::");
        i += bestLength - 1;
        continue;
      }
      if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
        text.append(':');
      }
      text.append(Integer.toHexString(groups[i]));
    }
    return text.toString();
  }

  private static String read(Path table) throws IOException {
    try {
      return Files.readString(table);
    } catch (NoSuchFileException e) {
      throw new IOException(table + " does not exist", e);
    } catch (IOException e) {
      throw new IOException("cannot read " + table + ": " + e.getMessage(), e);
    }
  }
}
