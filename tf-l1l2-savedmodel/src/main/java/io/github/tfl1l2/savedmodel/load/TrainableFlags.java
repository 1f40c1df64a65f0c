package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.TrainableSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.VariableDef;

/**
 * Decides which variables of a MetaGraphDef are trainable, from the best record the model keeps
 * (see {@link TrainableSource}).
 */
public final class TrainableFlags {
  private static final String COLLECTION = "trainable_variables";

  /** A graph name TensorFlow made unique by a suffix: {@code total_1} for the second "total". */
  private static final Pattern UNIQUIFIED = Pattern.compile("(.+)_(\\d+)");

  private final TrainableSource source;

  /** SavedVariable names to their flags, in object-graph order (names may repeat). */
  private final Map<String, List<Boolean>> objectGraph;

  /** Op names listed in the {@value #COLLECTION} collection. */
  private final Set<String> collection;

  private TrainableFlags(
      TrainableSource source, Map<String, List<Boolean>> objectGraph, Set<String> collection) {
    this.source = source;
    this.objectGraph = objectGraph;
    this.collection = collection;
  }

  /**
   * The flags {@code metaGraph} records: its object graph, else its collection, else none.
   *
   * @param metaGraph a MetaGraphDef as read
   * @return its trainable flags
   */
  public static TrainableFlags of(MetaGraphDef metaGraph) {
    if (metaGraph.hasObjectGraphDef()
        && metaGraph.getObjectGraphDef().getNodesList().stream()
            .anyMatch(n -> n.hasVariable() && !n.getVariable().getName().isEmpty())) {
      return new TrainableFlags(
          TrainableSource.OBJECT_GRAPH, objectGraphFlags(metaGraph.getObjectGraphDef()), Set.of());
    }
    if (metaGraph.containsCollectionDef(COLLECTION)) {
      return new TrainableFlags(
          TrainableSource.TRAINABLE_VARIABLES_COLLECTION,
          Map.of(),
          collectionNames(metaGraph.getCollectionDefOrThrow(COLLECTION)));
    }
    return new TrainableFlags(TrainableSource.ALL_ASSUMED_TRAINABLE, Map.of(), Set.of());
  }

  /**
   * Where the flags come from.
   *
   * @return the object graph, the TF1 collection, or neither
   */
  public TrainableSource source() {
    return source;
  }

  /** Whether the variable op {@code opName} is trainable. */
  boolean isTrainable(String opName) {
    return switch (source) {
      case OBJECT_GRAPH -> objectGraphTrainable(opName);
      case TRAINABLE_VARIABLES_COLLECTION -> collection.contains(opName);
      case ALL_ASSUMED_TRAINABLE -> true;
    };
  }

  /**
   * Maps a graph variable to its SavedVariable by name. When several SavedVariables share a name
   * (two Keras metrics each with a "total"), TensorFlow created their graph ops in object-graph
   * order and made the names unique as {@code total}, {@code total_1}, …; the suffix gives the
   * occurrence. A variable the object graph does not describe counts as not trainable.
   */
  private boolean objectGraphTrainable(String opName) {
    List<Boolean> exact = objectGraph.get(opName);
    if (exact != null) {
      return exact.get(0);
    }
    Matcher m = UNIQUIFIED.matcher(opName);
    if (m.matches()) {
      List<Boolean> base = objectGraph.get(m.group(1));
      int occurrence = Integer.parseInt(m.group(2));
      if (base != null && occurrence < base.size()) {
        return base.get(occurrence);
      }
    }
    return false;
  }

  private static Map<String, List<Boolean>> objectGraphFlags(SavedObjectGraph objectGraph) {
    Map<String, List<Boolean>> flags = new HashMap<>();
    for (SavedObject node : objectGraph.getNodesList()) {
      if (node.hasVariable()) {
        flags
            .computeIfAbsent(node.getVariable().getName(), k -> new ArrayList<>())
            .add(node.getVariable().getTrainable());
      }
    }
    return flags;
  }

  private static Set<String> collectionNames(CollectionDef collection) {
    Set<String> names = new TreeSet<>();
    for (var bytes : collection.getBytesList().getValueList()) {
      try {
        String name = VariableDef.parseFrom(bytes).getVariableName();
        int colon = name.lastIndexOf(':');
        names.add(colon < 0 ? name : name.substring(0, colon));
      } catch (IOException e) {
        // Not a VariableDef: the collection holds something else and says nothing about this.
      }
    }
    return names;
  }
}
