package io.github.tfl1l2.cluster;

import static io.github.tfl1l2.cluster.ClusterModel.LEARNING_RATE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.cluster.ClusterModel.Step;
import io.github.tfl1l2.testing.References;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.NodeDef;

/**
 * The penalty and its training step on a real TensorFlow cluster: two parameter-server tasks and
 * one worker, each {@code tf-l1l2 server} in its own JVM on 127.0.0.1, driven by a client session
 * from {@link ClusterSession#open}. Results are compared with the same graph run in this process
 * and with a double-precision recomputation.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClusterTrainingTest {
  private static final String PS0 = "/job:ps/replica:0/task:0";
  private static final String PS1 = "/job:ps/replica:0/task:1";
  private static final String WORKER = "/job:worker/replica:0/task:0";

  private static LocalCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = LocalCluster.start(2, 1);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void everyTaskServes() {
    cluster.restartDead();
  }

  /**
   * A short operation timeout for the tests that kill a task: closing a session whose task died
   * waits for it that long (30 s with the default), so this keeps those tests short.
   */
  private static final ConfigProto SHORT_TIMEOUT =
      ConfigProto.newBuilder().setOperationTimeoutInMs(15000).build();

  private static Session open(ClusterModel model) {
    Session session = ClusterSession.open(model.graph, cluster.target("worker", 0));
    session.initialize();
    return session;
  }

  @Test
  void penaltyOnTheClusterEqualsThePenaltyInOneProcess() {
    float clustered;
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = open(model)) {
      clustered = model.penalty(session);
    }
    float local;
    try (ClusterModel model = ClusterModel.inOneProcess(Step.GRADIENT_DESCENT);
        Session session = new Session(model.graph)) {
      local = model.penalty(session);
    }
    double reference =
        ClusterModel.referencePenalty(ClusterModel.A_INITIAL, ClusterModel.B_INITIAL);
    assertEquals(local, clustered, 4 * Math.ulp(local), "cluster against one process");
    assertEquals(reference, clustered, 1e-6 * reference, "cluster against the double reference");
  }

  @Test
  void onlyScalarsCrossTasksWhenThePenaltyIsEvaluated() {
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = open(model)) {
      CrossTaskTraffic traffic =
          CrossTaskTraffic.trace(() -> session.runner().fetch(model.penalty));
      // The partition graphs' cross-task _Send nodes: each ps task sends the worker one tensor
      // of rank 0, its partial sum; nothing else moves.
      assertEquals(
          List.of(PS0, PS1),
          traffic.sent().stream().map(CrossTaskTraffic.Sent::fromTask).sorted().toList(),
          "one send per ps task: " + traffic.sent());
      for (CrossTaskTraffic.Sent sent : traffic.sent()) {
        assertEquals(WORKER, sent.toTask(), "to the worker: " + sent);
        assertEquals(List.of(), sent.shape(), "a scalar: " + sent);
      }
      // What the worker's step stats recorded as received agrees: 8 bytes at most each.
      for (CrossTaskTraffic.Transfer transfer : traffic.transfers()) {
        assertTrue(transfer.bytes() <= Double.BYTES, "a scalar at most: " + transfer);
      }
      assertReadOnlyOnItsTask(traffic, "kernel_a", PS0);
      assertReadOnlyOnItsTask(traffic, "kernel_b", PS1);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Step.class,
      names = {"GRADIENT_DESCENT", "L1L2_MINIMIZE"})
  void gradientDescentStepOnTheClusterEqualsTheStepInOneProcess(Step step) {
    float[] a;
    double[] b;
    float[] bias;
    try (ClusterModel model = ClusterModel.onCluster(step);
        Session session = open(model)) {
      model.steps(session, 1);
      a = model.kernelA(session);
      b = model.kernelB(session);
      bias = model.bias(session);
    }
    try (ClusterModel model = ClusterModel.inOneProcess(step);
        Session session = new Session(model.graph)) {
      model.steps(session, 1);
      assertArrayEquals(model.kernelA(session), a, "kernel_a (float32, ps task 0)");
      assertArrayEquals(model.kernelB(session), b, "kernel_b (float64, ps task 1)");
      assertArrayEquals(model.bias(session), bias, "bias (worker)");
    }
    // w - lr * (l1 * sign(w) + 2 * l2 * w), in double, against the cluster's values
    for (int i = 0; i < a.length; i += 997) {
      double w = ClusterModel.A_INITIAL[i];
      assertEquals(gradientStep(w), a[i], 2e-7 * Math.max(1, Math.abs(w)), "kernel_a[" + i + "]");
    }
    for (int i = 0; i < b.length; i += 991) {
      double w = ClusterModel.B_INITIAL[i];
      assertEquals(gradientStep(w), b[i], 1e-7 * Math.max(1, Math.abs(w)), "kernel_b[" + i + "]");
    }
  }

  @Test
  void proximalStepsOnTheClusterEqualTheStepsInOneProcessWithExactZeros() {
    int steps = 3;
    float[] a;
    double[] b;
    float[] bias;
    try (ClusterModel model = ClusterModel.onCluster(Step.PROXIMAL);
        Session session = open(model)) {
      model.steps(session, steps);
      a = model.kernelA(session);
      b = model.kernelB(session);
      bias = model.bias(session);
    }
    try (ClusterModel model = ClusterModel.inOneProcess(Step.PROXIMAL);
        Session session = new Session(model.graph)) {
      model.steps(session, steps);
      assertArrayEquals(model.kernelA(session), a, "kernel_a (float32, ps task 0)");
      assertArrayEquals(model.kernelB(session), b, "kernel_b (float64, ps task 1)");
      assertArrayEquals(model.bias(session), bias, "bias (worker)");
    }
    // The data loss does not reach the kernels, so each step is the prox alone:
    // w <- sign(w) * max(|w| - lr * l1, 0) / (1 + lr * 2 * l2), in double.
    int zerosA = 0;
    for (int i = 0; i < a.length; i++) {
      double w = ClusterModel.A_INITIAL[i];
      for (int s = 0; s < steps; s++) {
        w = proximalStep(w);
      }
      assertEquals(w, a[i], 1e-6 * Math.max(1, Math.abs(w)), "kernel_a[" + i + "]");
      if (w == 0) {
        assertEquals(0f, Math.abs(a[i]), "kernel_a[" + i + "] is an exact zero");
        zerosA++;
      }
    }
    int zerosB = 0;
    for (int i = 0; i < b.length; i++) {
      double w = ClusterModel.B_INITIAL[i];
      for (int s = 0; s < steps; s++) {
        w = proximalStep(w);
      }
      assertEquals(w, b[i], 1e-12 * Math.max(1, Math.abs(w)), "kernel_b[" + i + "]");
      if (w == 0) {
        assertEquals(0.0, Math.abs(b[i]), "kernel_b[" + i + "] is an exact zero");
        zerosB++;
      }
    }
    // More zeros than the initial ones (every 97th / 89th): the threshold caught small weights.
    assertTrue(
        zerosA > a.length / 97 + 1 && zerosB > b.length / 89 + 1,
        "exact zeros: " + zerosA + " in kernel_a, " + zerosB + " in kernel_b");
  }

  private static double proximalStep(double w) {
    return References.proximalStep(w, LEARNING_RATE, ClusterModel.L1, ClusterModel.L2);
  }

  private static double gradientStep(double w) {
    return w - LEARNING_RATE * References.penaltyGradient(w, ClusterModel.L1, ClusterModel.L2);
  }

  @Test
  void trainingStepReadsAndUpdatesEachVariableOnTheTaskThatHoldsIt() {
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = open(model)) {
      CrossTaskTraffic traffic =
          CrossTaskTraffic.trace(() -> session.runner().addTarget(model.train));
      assertReadOnlyOnItsTask(traffic, "kernel_a", PS0);
      assertReadOnlyOnItsTask(traffic, "kernel_b", PS1);
      assertEquals(PS0, traffic.taskOf(update(traffic, "kernel_a").getName()));
      assertEquals(PS1, traffic.taskOf(update(traffic, "kernel_b").getName()));
    }
  }

  @Test
  void fusedStepComputesEachGradientOnTheTaskThatHoldsTheVariable() {
    try (ClusterModel model = ClusterModel.onCluster(Step.L1L2_MINIMIZE);
        Session session = open(model)) {
      CrossTaskTraffic traffic =
          CrossTaskTraffic.trace(() -> session.runner().addTarget(model.train));
      assertGradientComputedOnItsTask(traffic, "kernel_a", PS0);
      assertGradientComputedOnItsTask(traffic, "kernel_b", PS1);
      // The data loss does not reach the kernels: nothing weight-sized moves.
      for (CrossTaskTraffic.Sent sent : traffic.sent()) {
        assertTrue(sent.bytes() >= 0 && sent.bytes() <= 1024, "a small tensor: " + sent);
      }
    }
  }

  @Test
  @Disabled(
      "Fails today: with minimize(addTo) the penalty's fused gradient is computed on its"
          + " weight's task, but TensorFlow's own gradient of the Identity read that feeds it is built"
          + " without a device, lands on the worker, and the gradient crosses to it and back. Feeding"
          + " the surrogate the variable itself fixes this test but made"
          + " restartedTaskRestoredFromTheLastCheckpoint... fail to reach the restarted ps task on its"
          + " first step (3 runs of 3); enable when both pass. L1L2.minimize has no such read gradient:"
          + " fusedStepComputesEachGradientOnTheTaskThatHoldsTheVariable.")
  void penaltyGradientIsComputedOnTheTaskThatHoldsTheVariable() {
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = open(model)) {
      CrossTaskTraffic traffic =
          CrossTaskTraffic.trace(() -> session.runner().addTarget(model.train));
      assertGradientComputedOnItsTask(traffic, "kernel_a", PS0);
      assertGradientComputedOnItsTask(traffic, "kernel_b", PS1);
      // The upstream gradient and the partial sums are scalars; no weight-sized tensor moves.
      for (CrossTaskTraffic.Sent sent : traffic.sent()) {
        assertTrue(sent.bytes() >= 0 && sent.bytes() <= 1024, "a small tensor: " + sent);
      }
    }
  }

  private static void assertGradientComputedOnItsTask(
      CrossTaskTraffic traffic, String variable, String task) {
    NodeDef update = update(traffic, variable);
    String gradient = update.getInput(update.getInputCount() - 1).split(":")[0];
    assertEquals(
        task,
        traffic.taskOf(gradient),
        variable + "'s gradient " + gradient + " is produced on its task");
    assertFalse(
        traffic.nodes().get(gradient).getOp().startsWith("_Recv"),
        variable + "'s gradient is computed there, not received");
  }

  @Test
  void killedParameterServerFailsTheNextRunAtOnceNamingTheTask() throws Exception {
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session =
            ClusterSession.open(model.graph, cluster.target("worker", 0), SHORT_TIMEOUT)) {
      session.initialize();
      model.steps(session, 1);
      cluster.kill("ps", 1);
      long start = System.nanoTime();
      TensorFlowException failure =
          assertThrows(TensorFlowException.class, () -> model.steps(session, 1));
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(failure.getMessage().contains(PS1), "names the task: " + failure.getMessage());
      // At once: the loss of the connection is reported, not the operation timeout.
      assertTrue(
          millis < SHORT_TIMEOUT.getOperationTimeoutInMs(), "failed after " + millis + " ms");
    } finally {
      cluster.restartDead();
    }
  }

  @Test
  void stoppedParameterServerFailsTheRunWhenTheOperationTimeoutExpires() throws Exception {
    long timeoutMs = 3000;
    ConfigProto config = ConfigProto.newBuilder().setOperationTimeoutInMs(timeoutMs).build();
    long pid = cluster.process("ps", 1).pid();
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = ClusterSession.open(model.graph, cluster.target("worker", 0), config)) {
      session.initialize();
      signal("STOP", pid); // the task is alive but answers nothing, like a hung machine
      long start = System.nanoTime();
      TensorFlowException failure =
          assertThrows(TensorFlowException.class, () -> model.steps(session, 1));
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(failure.getMessage().contains("Deadline"), failure.getMessage());
      assertTrue(
          millis >= timeoutMs * 9 / 10 && millis < timeoutMs + 20_000,
          "failed after " + millis + " ms with a " + timeoutMs + " ms timeout");
      signal("CONT", pid); // before the session closes, which would wait for the task too
    } finally {
      signal("CONT", pid);
    }
  }

  @Test
  @Tag("soak") // waits the default timeout, 30 s, twice (the run, then closing the session)
  void stoppedParameterServerFailsTheRunWithinTheDefaultOperationTimeout() throws Exception {
    long pid = cluster.process("ps", 0).pid();
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT);
        Session session = open(model)) {
      signal("STOP", pid);
      long start = System.nanoTime();
      TensorFlowException failure =
          assertThrows(TensorFlowException.class, () -> model.penalty(session));
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(failure.getMessage().contains("Deadline"), failure.getMessage());
      assertTrue(millis < 60_000, "failed after " + millis + " ms, within a minute");
      signal("CONT", pid);
    } finally {
      signal("CONT", pid);
    }
  }

  @Test
  void restartedTaskRestoredFromTheLastCheckpointResumesTrainingWithNothingLost(
      @TempDir Path checkpoints) throws Exception {
    String prefix = checkpoints.resolve("ckpt").toString();
    float[] a;
    double[] b;
    float[] bias;
    String worker = cluster.target("worker", 0);
    try (ClusterModel model = ClusterModel.onCluster(Step.GRADIENT_DESCENT)) {
      try (Session session = ClusterSession.open(model.graph, worker, SHORT_TIMEOUT)) {
        session.initialize();
        model.steps(session, 3);
        session.save(prefix);
        model.steps(session, 1); // lost with the task: the checkpoint does not have it
        cluster.kill("ps", 1);
        assertThrows(TensorFlowException.class, () -> model.steps(session, 1));
      }
      cluster.restart("ps", 1);
      // A session does not survive the restart of one of its tasks ("Session handle is not
      // found"): a new one restores every task's variables from the checkpoint.
      try (Session session = ClusterSession.open(model.graph, worker, SHORT_TIMEOUT)) {
        session.restore(prefix);
        model.steps(session, 3);
        a = model.kernelA(session);
        b = model.kernelB(session);
        bias = model.bias(session);
      }
    }
    try (ClusterModel model = ClusterModel.inOneProcess(Step.GRADIENT_DESCENT);
        Session session = new Session(model.graph)) {
      model.steps(session, 6);
      assertArrayEquals(model.kernelA(session), a, "kernel_a after 3 + 3 steps");
      assertArrayEquals(model.kernelB(session), b, "kernel_b after 3 + 3 steps");
      assertArrayEquals(model.bias(session), bias, "bias after 3 + 3 steps");
      model.steps(session, 1);
      assertNotEquals(model.kernelB(session)[1], b[1], "a 7th step would differ");
    }
  }

  private static void assertReadOnlyOnItsTask(
      CrossTaskTraffic traffic, String variable, String task) {
    assertEquals(task, traffic.taskOf(variable), variable + " lives on " + task);
    List<NodeDef> readers = traffic.consumersOf(variable);
    assertFalse(readers.isEmpty(), variable + " is read");
    for (NodeDef reader : readers) {
      assertEquals(
          task,
          CrossTaskTraffic.task(reader.getDevice()),
          reader.getOp() + " " + reader.getName() + " reads " + variable + " on its task");
    }
  }

  private static NodeDef update(CrossTaskTraffic traffic, String variable) {
    return traffic.consumersOf(variable).stream()
        .filter(node -> node.getOp().startsWith("Apply"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no Apply* op updates " + variable));
  }

  private static void signal(String signal, long pid) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal);
  }
}
