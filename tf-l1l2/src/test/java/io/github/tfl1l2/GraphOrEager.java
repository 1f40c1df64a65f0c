package io.github.tfl1l2;

import org.tensorflow.EagerSession;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;

/** A graph (with its session) or an eager session, so one test can run in both modes. */
abstract class GraphOrEager implements AutoCloseable {
  final Ops tf;

  private GraphOrEager(Ops tf) {
    this.tf = tf;
  }

  static GraphOrEager of(String mode) {
    return switch (mode) {
      case "graph" -> new InGraph();
      case "eager" -> new InEager();
      default -> throw new IllegalArgumentException("mode must be graph or eager, was " + mode);
    };
  }

  abstract float[] floats(Operand<?> operand);

  abstract double scalar(Operand<?> operand);

  @Override
  public abstract void close();

  private static final class InGraph extends GraphOrEager {
    private final Graph graph;
    private Session session;

    InGraph() {
      this(new Graph());
    }

    private InGraph(Graph graph) {
      super(Ops.create(graph));
      this.graph = graph;
    }

    private Session session() {
      if (session == null) {
        session = new Session(graph);
      }
      return session;
    }

    @Override
    float[] floats(Operand<?> operand) {
      return Fixtures.fetchFloats(session(), operand);
    }

    @Override
    double scalar(Operand<?> operand) {
      return Fixtures.fetchScalar(session(), operand);
    }

    @Override
    public void close() {
      if (session != null) {
        session.close();
      }
      graph.close();
    }
  }

  private static final class InEager extends GraphOrEager {
    private final EagerSession eager;

    InEager() {
      this(EagerSession.create());
    }

    private InEager(EagerSession eager) {
      super(Ops.create(eager));
      this.eager = eager;
    }

    @Override
    float[] floats(Operand<?> operand) {
      return Fixtures.floats(operand.asTensor());
    }

    @Override
    double scalar(Operand<?> operand) {
      return Fixtures.scalar(operand.asTensor());
    }

    @Override
    public void close() {
      eager.close();
    }
  }
}
