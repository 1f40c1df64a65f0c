package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.Cases.DType;
import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TType;

/**
 * Placement on a session with four virtual CPU devices ({@code device_count {"CPU": 4}}): each
 * weight is pinned to one device, and the placement is read back from the run metadata's partition
 * graphs (one per device) and step stats.
 */
class DevicePlacementTest {
  private static final int DEVICES = 4;
  private static final ConfigProto FOUR_CPUS =
      ConfigProto.newBuilder().putDeviceCount("CPU", DEVICES).build();
  private static final RunOptions TRACE =
      RunOptions.newBuilder()
          .setTraceLevel(RunOptions.TraceLevel.FULL_TRACE)
          .setOutputPartitionGraphs(true)
          .build();

  static DeviceSpec cpu(int index) {
    return DeviceSpec.newBuilder().deviceType(DeviceSpec.DeviceType.CPU).deviceIndex(index).build();
  }

  /** Four weights, one per device, of four dtypes; w1 is handed over through an unpinned read. */
  static final class FourDeviceModel {
    final List<Operand<?>> parameters = new ArrayList<>();
    final List<double[]> values = new ArrayList<>();

    FourDeviceModel(Ops tf) {
      DType[] dtypes = {DType.FLOAT32, DType.FLOAT32, DType.FLOAT16, DType.FLOAT64};
      long[][] shapes = {{1000}, {20, 50}, {1000}, {10, 10, 10}};
      for (int d = 0; d < DEVICES; d++) {
        double[] v = new Cases.Draw(d).values(dtypes[d], 1000, -2, 1);
        values.add(v);
        Operand<?> w;
        try (Tensor t = dtypes[d].tensor(v, shapes[d])) {
          w =
              tf.withDevice(cpu(d))
                  .withName("w" + d)
                  .variable(tf.withInitScope().constantOf((TType) t));
        }
        parameters.add(d == 1 ? tf.identity(w) : w);
      }
    }

    double reference(double l1, double l2) {
      double sum = 0;
      for (double[] v : values) {
        for (double x : v) {
          sum += l1 * Math.abs(x) + l2 * x * x;
        }
      }
      return sum;
    }
  }

  /** What one traced run of a four-device graph left in its run metadata. */
  record Trace(double value, RunMetadata metadata) {
    /** Partition graph nodes by device index. */
    Map<Integer, List<NodeDef>> nodesByDevice() {
      Map<Integer, List<NodeDef>> out = new HashMap<>();
      for (GraphDef partition : metadata.getPartitionGraphsList()) {
        for (NodeDef node : partition.getNodeList()) {
          out.computeIfAbsent(deviceIndex(node.getDevice()), k -> new ArrayList<>()).add(node);
        }
      }
      return out;
    }

    /**
     * The shape of every tensor sent between devices: the output of each {@code _Send} node's
     * input, as its device's step stats recorded it. Keyed by "device: node".
     */
    Map<String, TensorShapeProto> crossDeviceShapes() {
      Map<String, NodeExecStats> stats = new HashMap<>();
      metadata
          .getStepStats()
          .getDevStatsList()
          .forEach(
              dev ->
                  dev.getNodeStatsList()
                      .forEach(
                          ns ->
                              stats.put(
                                  deviceIndex(dev.getDevice()) + ":" + ns.getNodeName(), ns)));
      Map<String, TensorShapeProto> out = new HashMap<>();
      for (GraphDef partition : metadata.getPartitionGraphsList()) {
        for (NodeDef node : partition.getNodeList()) {
          if (!node.getOp().equals("_Send") || node.getInput(0).contains("/ctrl/")) {
            continue; // a control edge's send carries a dummy constant, no data
          }
          String[] input = node.getInput(0).split(":");
          int slot = input.length > 1 ? Integer.parseInt(input[1]) : 0;
          String key = deviceIndex(node.getDevice()) + ":" + input[0];
          NodeExecStats producer = stats.get(key);
          assertTrue(
              producer != null && producer.getOutputCount() > slot,
              "no recorded output for " + key + " sent by " + node.getName());
          out.put("CPU:" + key, producer.getOutput(slot).getTensorDescription().getShape());
        }
      }
      return out;
    }
  }

  static int deviceIndex(String device) {
    return Integer.parseInt(device.substring(device.lastIndexOf(':') + 1));
  }

  /** Builds a four-device model and a penalty over it, runs it once plainly, once traced. */
  static Trace traced(BiFunction<Ops, FourDeviceModel, Operand<?>> penalty, double[] reference) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      FourDeviceModel model = new FourDeviceModel(tf);
      Operand<?> p = penalty.apply(tf, model);
      reference[0] = model.reference(0.25, 2.0);
      try (Session s = new Session(g, FOUR_CPUS)) {
        s.runner().fetch(p).run().close(); // initializes the variables, compiles
        try (Result r = s.runner().fetch(p).setOptions(TRACE).runAndFetchMetadata()) {
          return new Trace(Fixtures.scalar(r.get(0)), r.getMetadata().orElseThrow());
        }
      }
    }
  }

  static Trace tracedL1L2(boolean xla, double[] reference) {
    L1L2 reg = L1L2.builder().l1(0.25).l2(2.0).xla(xla).build();
    return traced((tf, model) -> reg.penalty(tf, model.parameters), reference);
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void onlyScalarsCrossDevices(boolean xla) {
    Map<String, TensorShapeProto> sent = tracedL1L2(xla, new double[1]).crossDeviceShapes();
    assertEquals(
        new TreeSet<>(List.of(1, 2, 3)),
        new TreeSet<>(sent.keySet().stream().map(k -> k.charAt(4) - '0').toList()),
        "devices 1-3 each send their partial sum to device 0: " + sent.keySet());
    sent.forEach(
        (producer, shape) ->
            assertTrue(
                shape.getDimCount() == 0 && !shape.getUnknownRank(),
                producer + " sends a tensor of shape " + shape));
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void eachWeightsGradientIsComputedOnItsDeviceAndOnlyScalarsCross(boolean xla) {
    L1L2 reg = L1L2.builder().l1(0.25).l2(2.0).xla(xla).build();
    double[] expected = new double[1];
    Trace trace =
        traced(
            (tf, model) -> {
              Operand<TFloat32> penalty = reg.penalty(tf, model.parameters);
              Output<?>[] grads =
                  ((Graph) tf.scope().env())
                      .addGradients(
                          penalty.asOutput(),
                          model.parameters.stream()
                              .map(Operand::asOutput)
                              .toArray(Output<?>[]::new));
              // Each gradient is summed on its own device; only those sums meet on device 0.
              List<Operand<TFloat64>> sums = new ArrayList<>();
              for (int d = 0; d < DEVICES; d++) {
                Ops local = tf.withDevice(cpu(d));
                Operand<TFloat64> g = local.dtypes.cast(grads[d], TFloat64.class);
                sums.add(
                    local.reduceSum(g, local.constant(allAxes(grads[d].shape().numDimensions()))));
                expected[0] += gradientSum(model.values.get(d));
              }
              return tf.math.addN(sums);
            },
            new double[1]);
    assertTrue(
        References.relativeError(trace.value(), expected[0]) <= 1e-3,
        trace.value() + " vs " + expected[0]);
    trace
        .crossDeviceShapes()
        .forEach(
            (producer, shape) ->
                assertTrue(
                    shape.getDimCount() == 0 && !shape.getUnknownRank(),
                    producer + " sends a tensor of shape " + shape));
  }

  private static int[] allAxes(int rank) {
    int[] axes = new int[rank];
    for (int i = 0; i < rank; i++) {
      axes[i] = i;
    }
    return axes;
  }

  /** Σ (0.25·sign(w) + 2·2·w), the gradient of 0.25·|w| + 2·w² summed over the weight. */
  private static double gradientSum(double[] values) {
    double sum = 0;
    for (double w : values) {
      sum += References.penaltyGradient(w, 0.25, 2.0);
    }
    return sum;
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void eachWeightIsReadAndReducedOnItsOwnDevice(boolean xla) {
    Map<Integer, List<NodeDef>> nodes = tracedL1L2(xla, new double[1]).nodesByDevice();
    for (int d = 0; d < DEVICES; d++) {
      List<String> ops = nodes.get(d).stream().map(NodeDef::getOp).toList();
      List<String> names = nodes.get(d).stream().map(NodeDef::getName).toList();
      assertTrue(names.contains("w" + d), "w" + d + " on CPU:" + d + ": " + names);
      List<String> reducers = xla ? List.of("_XlaRun") : List.of("Abs", "L2Loss", "Sum");
      assertTrue(ops.containsAll(reducers), "CPU:" + d + " runs " + reducers + ": " + ops);
    }
    if (!xla) {
      assertTrue(
          nodes.get(2).stream().anyMatch(n -> n.getOp().equals("Cast")),
          "the float16 weight is widened on its own device");
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void penaltyOverFourDevicesMatchesTheReference(boolean xla) {
    double[] reference = new double[1];
    double value = tracedL1L2(xla, reference).value();
    assertTrue(
        References.relativeError(value, reference[0]) <= 1e-6, value + " vs " + reference[0]);
  }

  /** The control: without pinning, whole weights travel to device 0; the check above sees it. */
  @Test
  void unpinnedReductionsWouldSendWholeWeightsAcrossDevices() {
    Map<String, TensorShapeProto> sent =
        traced(
                (tf, model) -> {
                  List<Operand<TFloat32>> sums = new ArrayList<>();
                  for (Operand<?> w : model.parameters) {
                    Operand<TFloat32> x = tf.dtypes.cast(w, TFloat32.class);
                    sums.add(
                        tf.reduceSum(
                            tf.math.abs(x), tf.range(tf.constant(0), tf.rank(x), tf.constant(1))));
                  }
                  return tf.math.addN(sums);
                },
                new double[1])
            .crossDeviceShapes();
    assertTrue(
        sent.values().stream().anyMatch(s -> s.getDimCount() > 0),
        "expected non-scalar transfers: " + sent);
  }

  @Test
  void unpinnedParametersLeaveEveryPenaltyOpUnpinned() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> w = tf.variable(tf.withInitScope().constant(new float[] {1f, -2f}));
      L1L2.of(1, 1).penalty(tf, List.of(w, tf.identity(w)));
      g.operations().forEachRemaining(op -> assertEquals("", op.device(), op.name()));
    }
  }

  @Test
  void aReadThroughUnpinnedIdentitiesFollowsTheVariablesDevice() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> w =
          tf.withDevice(cpu(3)).variable(tf.withInitScope().constant(new float[] {1f}));
      assertEquals(cpu(3).toString(), Devices.deviceOf(tf.identity(tf.identity(w))).toString());
      assertNull(
          Devices.deviceOf(tf.math.abs(tf.identity(w))),
          "only reads are followed, not computations");
    }
  }

  @Test
  void deviceStringsParseInFullShortAndLegacyForm() {
    assertEquals(
        "/job:worker/replica:1/task:2/device:GPU:3",
        Devices.parseDevice("/job:worker/replica:1/task:2/device:GPU:3").toString());
    assertEquals("/device:CPU:0", Devices.parseDevice("/device:CPU:0").toString());
    assertEquals("/device:GPU:1", Devices.parseDevice("/gpu:1").toString());
    assertEquals("/device:GPU:*", Devices.parseDevice("/device:GPU:*").toString());
  }

  @Test
  void unknownDeviceTypesAreLeftToThePlacer() {
    assertNull(Devices.parseDevice("/device:XLA_CPU:0"));
    assertFalse(Devices.parseDevice("/job:ps").toString().contains("device"));
  }
}
