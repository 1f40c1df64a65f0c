package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

class XlaMarkingTest {

  private static List<GraphOperation> opsUnder(Graph g, String prefix) {
    List<GraphOperation> ops = new ArrayList<>();
    g.operations()
        .forEachRemaining(
            op -> {
              if (op.name().startsWith(prefix + "/")) {
                ops.add(op);
              }
            });
    return ops;
  }

  private static boolean marked(GraphOperation op) {
    try {
      return op.attributes().getAttrBool(XlaScope.XLA_COMPILE_ATTR);
    } catch (RuntimeException notSet) {
      return false;
    }
  }

  private static List<Operand<?>> weights(Ops tf) {
    List<Operand<?>> params = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      params.add(
          tf.withName("w" + i)
              .variable(
                  tf.withInitScope()
                      .constant(Fixtures.tensor(Fixtures.randomWeights(i, 300, 1.0), 300))));
    }
    return params;
  }

  /** Arithmetic that must run inside the cluster. */
  private static final Set<String> COMPUTE =
      Set.of("Abs", "Square", "Sum", "Mul", "Add", "AddV2", "AddN", "Cast", "Slice");

  @Test
  void computeNodesShareOneXlaScopeAndReadsStayUnmarked() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      L1L2.of(0.1, 0.2).penalty(tf, weights(tf));
      Set<String> scopes = new HashSet<>();
      List<String> types = new ArrayList<>();
      for (GraphOperation op : opsUnder(g, "l1_l2")) {
        if (COMPUTE.contains(op.type()) && !op.name().contains("/Zeros")) { // padding is a view
          assertTrue(marked(op), "unmarked compute node " + op.name());
          scopes.add(op.attributes().getAttrString(XlaScope.XLA_SCOPE_ATTR));
          types.add(op.type());
        } else if (op.type().equals("Identity")) {
          // Reads (and free views of them) stay outside: a cluster takes values, not refs.
          assertFalse(marked(op), "a ref read feeds the cluster as a value: " + op.name());
        }
      }
      assertEquals(1, scopes.size(), scopes.toString());
      // l2 >= l1: the elementwise term is |w|*(a + |w|), a product rather than a Square.
      assertTrue(
          types.contains("Abs") && types.contains("Mul") && types.contains("Sum"),
          types.toString());
    }
  }

  @Test
  void xlaFalseLeavesEveryNodeUnmarked() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      L1L2.builder().l1(0.1).l2(0.2).xla(false).build().penalty(tf, weights(tf));
      List<GraphOperation> ops = opsUnder(g, "l1_l2");
      assertFalse(ops.isEmpty());
      ops.forEach(op -> assertFalse(marked(op), op.name()));
    }
  }

  @Test
  void markedAndUnmarkedPenaltiesAgree() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> params = weights(tf);
      L1L2 reg = L1L2.of(0.1, 0.2);
      Operand<TFloat32> withXla = reg.penalty(tf, params);
      Operand<TFloat32> without = reg.toBuilder().xla(false).build().penalty(tf, params);
      try (Session s = new Session(g)) {
        double a = Fixtures.fetchScalar(s, withXla);
        double b = Fixtures.fetchScalar(s, without);
        assertEquals(b, a, Math.abs(b) * 1e-6);
      }
    }
  }

  @Test
  void tensorFlowCompilesTheMarkedPenaltyAsAnXlaCluster() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> penalty = L1L2.of(0.1, 0.2).penalty(tf, weights(tf));
      try (Session s = new Session(g)) {
        s.initialize();
        RunOptions options = RunOptions.newBuilder().setOutputPartitionGraphs(true).build();
        try (Result result = s.runner().fetch(penalty).setOptions(options).runAndFetchMetadata()) {
          RunMetadata metadata = result.getMetadata().orElseThrow();
          Set<String> opTypes = new HashSet<>();
          for (GraphDef partition : metadata.getPartitionGraphsList()) {
            for (NodeDef node : partition.getNodeList()) {
              opTypes.add(node.getOp());
            }
          }
          assertTrue(
              opTypes.contains("_XlaCompile") || opTypes.contains("_XlaRun"),
              "no XLA launch op in the executed graph: " + opTypes);
          assertFalse(opTypes.contains("Abs"), "Abs ran outside the cluster: " + opTypes);
        }
      }
    }
  }
}
