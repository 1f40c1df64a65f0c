package io.github.tfl1l2.savedmodel.load;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;

/**
 * What a Keras 2 object graph says about its layers' state and losses, read by child names: the
 * object graph names each tracked attribute of a layer ({@code moving_mean}, {@code
 * _random_generator}, {@code regularization_losses}), while the layer's class is only in {@code
 * keras_metadata.pb} or the deprecated {@code user_object.metadata}.
 */
public final class KerasObjects {
  /** Object-graph identifiers of Keras layers and models start with this. */
  private static final String KERAS_PREFIX = "_tf_keras_";

  private final SavedObjectGraph objects;

  private KerasObjects(SavedObjectGraph objects) {
    this.objects = objects;
  }

  /**
   * Reads {@code objects}.
   *
   * @param objects a MetaGraphDef's object graph (may be empty)
   * @return its reader
   */
  public static KerasObjects of(SavedObjectGraph objects) {
    return new KerasObjects(objects);
  }

  /**
   * The variables that a Keras layer's training call may write: the {@code moving_mean} and {@code
   * moving_variance} of {@code BatchNormalization} layers, and every variable under a layer's
   * {@code _random_generator} (a {@code tf.random.Generator}'s state, which seeded Dropout
   * advances).
   *
   * @return object-graph node ids of {@code SavedVariable} nodes, each with its kind: {@code
   *     "moving statistic"} or {@code "random generator state"}
   */
  public Map<Integer, String> trainingStateVariables() {
    Map<Integer, String> state = new LinkedHashMap<>();
    for (SavedObject node : objects.getNodesList()) {
      if (!isKerasLayer(node)) {
        continue;
      }
      for (ObjectReference child : node.getChildrenList()) {
        String name = child.getLocalName();
        if ((name.equals("moving_mean") || name.equals("moving_variance"))
            && isVariable(child.getNodeId())) {
          state.put(child.getNodeId(), "moving statistic");
        } else if (name.equals("_random_generator")) {
          for (int id : variablesUnder(child.getNodeId())) {
            state.putIfAbsent(id, "random generator state");
          }
        }
      }
    }
    return state;
  }

  /**
   * The functions that compute the model's regularization losses, as Keras sums them into {@code
   * model.losses}: the concrete functions in the {@code regularization_losses} lists of every Keras
   * layer and model of the object graph, each once (a model's list repeats its layers').
   *
   * @return concrete function names, in object-graph order; empty when no layer declares one
   */
  public List<String> regularizationLossFunctions() {
    Set<Integer> seen = new HashSet<>();
    List<String> functions = new ArrayList<>();
    for (SavedObject node : objects.getNodesList()) {
      if (!isKerasLayer(node)) {
        continue;
      }
      for (ObjectReference child : node.getChildrenList()) {
        if (!child.getLocalName().equals("regularization_losses") || !valid(child.getNodeId())) {
          continue;
        }
        for (ObjectReference loss : objects.getNodes(child.getNodeId()).getChildrenList()) {
          int id = loss.getNodeId();
          if (valid(id) && objects.getNodes(id).hasFunction() && seen.add(id)) {
            functions.addAll(objects.getNodes(id).getFunction().getConcreteFunctionsList());
          }
        }
      }
    }
    return functions;
  }

  /**
   * The saved form of concrete function {@code name}.
   *
   * @param name a concrete function of the object graph
   * @return its captures and signatures, or null if the object graph has none of that name
   */
  public SavedConcreteFunction concreteFunction(String name) {
    return objects.getConcreteFunctionsMap().get(name);
  }

  private boolean isKerasLayer(SavedObject node) {
    return node.hasUserObject() && node.getUserObject().getIdentifier().startsWith(KERAS_PREFIX);
  }

  private boolean valid(int id) {
    return id >= 0 && id < objects.getNodesCount();
  }

  private boolean isVariable(int id) {
    return valid(id) && objects.getNodes(id).hasVariable();
  }

  /** The variable nodes reachable from node {@code start} through children. */
  private Set<Integer> variablesUnder(int start) {
    Set<Integer> visited = new TreeSet<>();
    Set<Integer> variables = new TreeSet<>();
    Deque<Integer> pending = new ArrayDeque<>(List.of(start));
    while (!pending.isEmpty()) {
      int id = pending.poll();
      if (!valid(id) || !visited.add(id)) {
        continue;
      }
      if (objects.getNodes(id).hasVariable()) {
        variables.add(id);
      }
      for (ObjectReference child : objects.getNodes(id).getChildrenList()) {
        pending.add(child.getNodeId());
      }
    }
    return variables;
  }
}
