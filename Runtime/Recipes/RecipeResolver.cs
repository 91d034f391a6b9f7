namespace FlatImage.Runtime.Recipes;

/// <summary>
/// Orders recipes for installation: depth first from each top-level name, left to
/// right, every recipe before its dependencies. FlatImage's cycle rule applies: within one
/// top-level resolution a recipe may be reached only once, so a cycle is rejected and so is a
/// diamond (a→b→d, a→c→d); the same dependency under two top-level names is fine.
/// </summary>
public static class RecipeResolver
{
    /// <param name="lookup">the recipe of a name; throws <see cref="RecipeException"/> when it has none.</param>
    /// <returns>each recipe once, in the order it was first reached.</returns>
    /// <exception cref="RecipeException"><c>Cyclic dependency for recipe '&lt;name&gt;'</c>, or the lookup's failure.</exception>
    public static IReadOnlyList<Recipe> Resolve(IReadOnlyList<string> names, Func<string, Recipe> lookup)
    {
        var order = new List<Recipe>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (string top in names)
        {
            // An explicit stack: a hostile repository's chain of dependencies cannot exhaust the thread's stack.
            var reached = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>();
            pending.Push(top);
            while (pending.Count > 0)
            {
                string name = pending.Pop();
                if (!reached.Add(name))
                    throw new RecipeException($"Cyclic dependency for recipe '{name}'");
                var recipe = lookup(name);
                if (listed.Add(name))
                    order.Add(recipe);
                for (int i = recipe.Dependencies.Length - 1; i >= 0; i--)
                    pending.Push(recipe.Dependencies[i]);
            }
        }
        return order;
    }
}
