using System.Collections.Immutable;
using FlatImage.Runtime.Recipes;

namespace FlatImage.Runtime.Tests.Recipes;

public sealed class RecipeResolverTests
{
    private static Func<string, Recipe> Graph(params (string Name, string[] Dependencies)[] recipes)
    {
        var map = recipes.ToDictionary(r => r.Name, r => new Recipe(r.Name, "", [$"pkg-{r.Name}"], [.. r.Dependencies], null));
        return name => map.TryGetValue(name, out var recipe) ? recipe : throw new RecipeException($"no {name}");
    }

    private static string[] Order(Func<string, Recipe> graph, params string[] names) =>
        RecipeResolver.Resolve(names, graph).Select(r => r.Name).ToArray();

    [Fact]
    public void Orders_depth_first_each_recipe_before_its_dependencies_and_each_once()
    {
        var graph = Graph(("a", ["b", "c"]), ("b", ["d"]), ("c", []), ("d", []), ("e", ["d"]));
        Assert.Equal(["a", "b", "d", "c", "e"], Order(graph, "a", "e"));
    }

    [Fact]
    public void The_same_dependency_under_two_top_level_names_is_fine()
    {
        var graph = Graph(("xorg", ["xkb"]), ("wayland", ["xkb"]), ("xkb", []));
        Assert.Equal(["xorg", "xkb", "wayland"], Order(graph, "xorg", "wayland"));
        Assert.Equal(["xorg", "xkb"], Order(graph, "xorg", "xorg"));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void A_cycle_is_rejected(string top)
    {
        var graph = Graph(("a", ["b"]), ("b", ["a"]));
        var e = Assert.Throws<RecipeException>(() => Order(graph, top));
        Assert.Equal($"Cyclic dependency for recipe '{top}'", e.Message);
        Assert.Equal("Cyclic dependency for recipe 's'", Assert.Throws<RecipeException>(() => Order(Graph(("s", ["s"])), "s")).Message);
    }

    [Fact]
    public void A_diamond_is_rejected_as_flatimage_does()
    {
        var graph = Graph(("a", ["b", "c"]), ("b", ["d"]), ("c", ["d"]), ("d", []));
        Assert.Equal("Cyclic dependency for recipe 'd'", Assert.Throws<RecipeException>(() => Order(graph, "a")).Message);
    }

    [Fact]
    public void A_deep_chain_resolves_without_recursion()
    {
        const int depth = 20_000;
        var graph = Enumerable.Range(0, depth).Select(i => ($"r{i}", i + 1 < depth ? new[] { $"r{i + 1}" } : [])).ToArray();
        var order = Order(Graph(graph), "r0");
        Assert.Equal(depth, order.Length);
        Assert.Equal($"r{depth - 1}", order[^1]);
    }

    [Fact]
    public void A_failed_lookup_surfaces_in_depth_first_order()
    {
        var graph = Graph(("a", ["missing1", "missing2"]));
        Assert.Equal("no missing1", Assert.Throws<RecipeException>(() => Order(graph, "a")).Message);
    }
}
