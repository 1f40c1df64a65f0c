package io.github.tfl1l2.savedmodel;

/** Where {@link LoadedSavedModel} took the {@link ModelVariable#trainable()} flags from. */
public enum TrainableSource {
  /**
   * The MetaGraphDef's {@code object_graph_def} ({@code SavedVariable.trainable}), written by
   * TensorFlow 2 and Keras: optimizer slots, metric counters and moving statistics are not
   * trainable.
   */
  OBJECT_GRAPH,
  /** The TF1 {@code trainable_variables} collection of the MetaGraphDef. */
  TRAINABLE_VARIABLES_COLLECTION,
  /**
   * Neither is present (e.g. a graph exported by TF-Java's {@code SavedModelBundle.exporter}):
   * every variable counts as trainable.
   */
  ALL_ASSUMED_TRAINABLE
}
