package io.github.tfl1l2.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;

/**
 * What a traced run moved between tasks and where it ran each node, read from TensorFlow's own run
 * metadata: the partition graphs (one per task, every node with its device) and the step stats,
 * where each tensor a task received from another appears as a {@code RecvTensor} entry with its
 * size.
 */
final class CrossTaskTraffic {
  /** Run options that return partition graphs and full step stats. */
  static final RunOptions TRACED =
      RunOptions.newBuilder()
          .setTraceLevel(RunOptions.TraceLevel.FULL_TRACE)
          .setOutputPartitionGraphs(true)
          .build();

  private static final Pattern EDGE = Pattern.compile("(edge_\\S+) from (\\S+) to (\\S+)");

  /** One tensor received by one task from another. */
  record Transfer(String edge, String fromTask, String toTask, long bytes) {}

  /**
   * One {@code _Send} to another task, the shape its input had in this run (null: unknown) and its
   * size in bytes (-1: unknown).
   */
  record Sent(String sendNode, String fromTask, String toTask, List<Long> shape, long bytes) {}

  private static final Map<DataType, Integer> BYTES =
      Map.of(
          DataType.DT_FLOAT,
          4,
          DataType.DT_DOUBLE,
          8,
          DataType.DT_HALF,
          2,
          DataType.DT_BFLOAT16,
          2,
          DataType.DT_INT32,
          4,
          DataType.DT_INT64,
          8,
          DataType.DT_BOOL,
          1);
  private static final int ATTEMPTS = 5;

  private final List<Transfer> transfers = new ArrayList<>();
  private final List<Sent> sent = new ArrayList<>();
  private final Map<String, NodeDef> nodes = new HashMap<>();
  private final Map<String, List<Long>> outputShapes = new HashMap<>();

  CrossTaskTraffic(RunMetadata metadata) {
    for (GraphDef partition : metadata.getPartitionGraphsList()) {
      for (NodeDef node : partition.getNodeList()) {
        nodes.put(node.getName(), node);
      }
    }
    for (DeviceStepStats device : metadata.getStepStats().getDevStatsList()) {
      for (NodeExecStats stats : device.getNodeStatsList()) {
        stats
            .getOutputList()
            .forEach(
                output ->
                    outputShapes.put(
                        stats.getNodeName() + ":" + output.getSlot(),
                        output.getTensorDescription().getShape().getDimList().stream()
                            .map(d -> d.getSize())
                            .toList()));
        if (!stats.getNodeName().equals("RecvTensor")) {
          continue;
        }
        Matcher m = EDGE.matcher(stats.getTimelineLabel());
        if (!m.find()) {
          throw new IllegalStateException(
              "unexpected RecvTensor label " + stats.getTimelineLabel());
        }
        String from = task(m.group(2));
        String to = task(m.group(3));
        if (!from.equals(to)) {
          long bytes =
              stats.getOutputCount() == 0
                  ? 0
                  : stats
                      .getOutput(0)
                      .getTensorDescription()
                      .getAllocationDescription()
                      .getRequestedBytes();
          transfers.add(new Transfer(m.group(1), from, to, bytes));
        }
      }
    }
    if (nodes.isEmpty()) {
      throw new IllegalStateException("the run metadata has no partition graphs; run with TRACED");
    }
    for (NodeDef node : nodes.values()) {
      if (!node.getOp().equals("_Send") || node.getAttrOrThrow("client_terminated").getB()) {
        continue;
      }
      String from = task(node.getAttrOrThrow("send_device").getS().toStringUtf8());
      String to = task(node.getAttrOrThrow("recv_device").getS().toStringUtf8());
      String input = node.getInput(0);
      if (!from.equals(to) && !input.startsWith("^")) {
        String source = input.contains(":") ? input : input + ":0";
        List<Long> shape = outputShapes.get(source);
        Integer size = BYTES.get(node.getAttrOrThrow("T").getType());
        long bytes =
            shape == null || size == null ? -1 : shape.stream().reduce(1L, (x, y) -> x * y) * size;
        sent.add(new Sent(node.getName(), from, to, shape, bytes));
      }
    }
  }

  /**
   * Runs {@code runner} traced and reads its traffic. The step stats of a remote task sometimes
   * miss a run (seen about once in 6 runs on a loaded machine), so the run is repeated, up to 5
   * times, until every cross-task send has its shape.
   */
  static CrossTaskTraffic trace(Supplier<Session.Runner> runner) {
    CrossTaskTraffic traffic = null;
    for (int attempt = 0;
        attempt < ATTEMPTS && (traffic == null || !traffic.complete());
        attempt++) {
      try (Result result = runner.get().setOptions(TRACED).runAndFetchMetadata()) {
        traffic = new CrossTaskTraffic(result.getMetadata().orElseThrow());
      }
    }
    return traffic;
  }

  /** Whether every cross-task send has a known shape. */
  boolean complete() {
    return sent.stream().allMatch(s -> s.shape() != null);
  }

  /** The tensors sent from one task to another, with their shapes, from the partition graphs. */
  List<Sent> sent() {
    return sent;
  }

  /** The bytes of all cross-task sends, -1 if a send's shape or dtype is unknown. */
  long sentBytes() {
    return sent.stream().anyMatch(s -> s.bytes() < 0)
        ? -1
        : sent.stream().mapToLong(Sent::bytes).sum();
  }

  /** {@code /job:ps/replica:0/task:1} of a full device name. */
  static String task(String device) {
    int end = device.indexOf("/device:");
    return end < 0 ? device : device.substring(0, end);
  }

  List<Transfer> transfers() {
    return transfers;
  }

  long totalBytes() {
    return transfers.stream().mapToLong(Transfer::bytes).sum();
  }

  long largestBytes() {
    return transfers.stream().mapToLong(Transfer::bytes).max().orElse(0);
  }

  /** The partition-graph nodes, by name, with the device each ran on. */
  Map<String, NodeDef> nodes() {
    return nodes;
  }

  /** The nodes of the partition graphs that take {@code name}'s output (any index) as an input. */
  List<NodeDef> consumersOf(String name) {
    List<NodeDef> consumers = new ArrayList<>();
    for (NodeDef node : nodes.values()) {
      for (String input : node.getInputList()) {
        String source = input.startsWith("^") ? input.substring(1) : input;
        int colon = source.indexOf(':');
        if (!input.startsWith("^")
            && (colon < 0 ? source : source.substring(0, colon)).equals(name)) {
          consumers.add(node);
          break;
        }
      }
    }
    return consumers;
  }

  /** The task a node ran on. */
  String taskOf(String name) {
    NodeDef node = nodes.get(name);
    if (node == null) {
      throw new IllegalArgumentException("no node " + name + " in the partition graphs");
    }
    return task(node.getDevice());
  }
}
