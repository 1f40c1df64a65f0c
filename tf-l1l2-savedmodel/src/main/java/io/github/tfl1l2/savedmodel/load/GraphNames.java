package io.github.tfl1l2.savedmodel.load;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;

/** Names for ops added to a graph that was loaded, not built, in this process. */
public final class GraphNames {
  private GraphNames() {}

  /**
   * {@code base}, or {@code base_1}, {@code base_2}, … : the first name that neither names an op of
   * {@code graph} nor prefixes one. TF-Java's name scopes only know the names they made themselves,
   * so ops of a loaded graph would otherwise collide.
   *
   * @param graph the graph the new ops go into
   * @param base the wanted name
   * @return the first unused name of the series
   */
  public static String unusedScope(Graph graph, String base) {
    List<String> names = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      names.add(it.next().name());
    }
    for (int suffix = 0; ; suffix++) {
      String candidate = suffix == 0 ? base : base + "_" + suffix;
      boolean used = false;
      for (String name : names) {
        if (name.equals(candidate) || name.startsWith(candidate + "/")) {
          used = true;
          break;
        }
      }
      if (!used) {
        return candidate;
      }
    }
  }
}
